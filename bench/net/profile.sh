#!/usr/bin/env bash
# Profiles one echo server under one row of bench/net/run.py (after run.py has built them):
# counts system calls by kind and context switches per request (perf stat), and records
# where the server's CPU time goes (perf record -g, top symbols).
#
#   bash bench/net/profile.sh goro|go|asio pingpong|stream CONNS [WORKERS] [SECONDS]
#   e.g. bash bench/net/profile.sh goro pingpong 1000; bash bench/net/profile.sh goro stream 4
#
# At one worker the server is pinned to core 0 and the client to core 1, as run.py does.
# Output: bench/out/net/perf-SERVER-MODE-CONNS-P.{stat,report}.txt (goro: -epoll or -uring
# after SERVER when GORO_NETPOLL chooses its poller's back end)
set -eu
cd "$(dirname "$0")/../.."
server=$1 mode=$2 conns=$3 workers=${4:-1} secs=${5:-3}
B=build-bench/bench/net
O=bench/out/net
mkdir -p "$O"
case $server in
  goro) cmd=("$B/goro_echo" 127.0.0.1:0 "$workers") ;;
  asio) cmd=("$B/asio_echo" 127.0.0.1:0 "$workers") ;;
  go) cmd=(env GOMAXPROCS="$workers" "$O/go_echo" 127.0.0.1:0) ;;
  *) echo "server: goro, go or asio" >&2; exit 2 ;;
esac
spin=() cpin=()
if [[ $workers == 1 ]]; then spin=(taskset -c 0) cpin=(taskset -c 1); fi
tag="$O/perf-$server${GORO_NETPOLL:+-$GORO_NETPOLL}-$mode-$conns-$workers"
fifo=$(mktemp -u) && mkfifo "$fifo"
"${spin[@]}" "${cmd[@]}" >"$fifo" 2>&1 &
spid=$!
read -r _ addr <"$fifo"
addr=${addr/\[::\]/127.0.0.1}
cat "$fifo" >/dev/null &
events=context-switches,cpu-migrations,task-clock,raw_syscalls:sys_enter
for s in epoll_wait epoll_pwait read write recvfrom sendto readv writev futex sched_yield \
  nanosleep clock_nanosleep epoll_ctl io_uring_enter; do
  events+=",syscalls:sys_enter_$s"
done
# 1: perf stat over exactly the client's measured window (after its 1 s warm-up)
"${cpin[@]}" "$B/netload" --addr "$addr" --mode "$mode" --conns "$conns" --depth 16 \
  --duration "$secs" --warmup 1 >"$tag.client.txt" &
cpid=$!
sleep 1
perf stat -e "$events" -p "$spid" -- sleep "$secs" 2>"$tag.stat.txt"
wait "$cpid" || true
# 2: perf record -g under a second run
"${cpin[@]}" "$B/netload" --addr "$addr" --mode "$mode" --conns "$conns" --depth 16 \
  --duration "$secs" --warmup 1 >/dev/null &
cpid=$!
sleep 1
perf record -g -o "$tag.data" -p "$spid" -- sleep "$secs" 2>/dev/null
wait "$cpid" || true
kill "$spid" 2>/dev/null || true
rm -f "$fifo"
perf report -i "$tag.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
  grep -v '^$' | head -150 >"$tag.report.txt"
perf report -i "$tag.data" --no-children --sort sym --percent-limit 0.7 --stdio -g none \
  2>/dev/null | grep -v '^$' | grep -v '^#' | head -40 >"$tag.top.txt"
grep RESULT "$tag.client.txt"
reqs=$(grep -o 'requests=[0-9]*' "$tag.client.txt" | cut -d= -f2)
echo "== perf stat of the server over the measured $secs s, per request (of $reqs):"
awk -v reqs="$reqs" '$1 ~ /^[0-9,.]+$/ { gsub(",", "", $1); name = $2; v = $1;
  if ($2 == "msec") { name = "task-clock (us of CPU)"; v = $1 * 1000 }
  printf "%-40s %14.1f  %8.3f/req\n", name, v, v / reqs }' "$tag.stat.txt" | tee "$tag.perreq.txt"
echo "== top symbols:"
head -25 "$tag.top.txt"
echo "== CPU by binary:"
perf report -i "$tag.data" --no-children --sort dso --stdio -g none 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -6 | tee "$tag.dso.txt"

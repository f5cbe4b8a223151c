// goro::net::asio_stream: a goro::net::conn as Boost.Asio's SyncReadStream and
// SyncWriteStream, so that Asio's synchronous read/write/read_until and Boost.Beast's
// synchronous HTTP functions work on a goroutine's connection (docs/reference.md §8).
//
//   #include <goro/net/asio.hpp>
//   goro::net::asio_stream s{goro::net::dial("tcp", "127.0.0.1:8080")};
//   boost::asio::write(s, boost::asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
//   boost::asio::streambuf reply;
//   boost::system::error_code ec;
//   boost::asio::read(s, reply, ec);  // to the end of the stream: ec == asio::error::eof
//
// Like the conn it wraps, an asio_stream blocks (parks) the calling goroutine, never the
// worker thread, and is cheap to copy; copies share the socket. Only this header needs
// Boost.Asio (header-only); goro itself does not.
#pragma once

#include <goro/net.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <cstring>
#include <span>
#include <system_error>
#include <utility>

namespace goro::net {

class asio_stream {
 public:
  explicit asio_stream(conn c) : conn_(std::move(c)) {}

  conn& next_layer() noexcept { return conn_; }

  // At most this many bytes of small buffers are gathered into one write (on the stack).
  static constexpr std::size_t gather_bytes = 2048;

  // SyncReadStream: reads into the first non-empty buffer of the sequence, as Asio's own
  // sockets do; 0 bytes only for an empty sequence. The end of the stream is
  // boost::asio::error::eof, which Asio's and Beast's algorithms expect. Blocks; the
  // throwing form throws boost::system::system_error.
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    const boost::asio::mutable_buffer b = first_nonempty<boost::asio::mutable_buffer>(buffers);
    ec = {};
    if (b.size() == 0) return 0;
    std::error_code e;
    const std::size_t n = conn_.read({static_cast<std::byte*>(b.data()), b.size()}, e);
    if (e) {
      ec = e;
    } else if (n == 0) {
      ec = boost::asio::error::eof;
    }
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // SyncWriteStream: writes the whole first non-empty buffer of the sequence (conn::write
  // writes all it is given), and with it, in the same write, the small buffers that follow,
  // up to gather_bytes in all: Beast hands a message over as several small pieces (the start
  // line, each run of fields, the body), and a write each would cost a system call and,
  // with TCP_NODELAY, a packet each. On an error, reports 0 bytes written. Blocks; the
  // throwing form throws boost::system::system_error.
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return 0;
    const boost::asio::const_buffer first(*it);
    std::span<const std::byte> data(static_cast<const std::byte*>(first.data()), first.size());
    std::byte gathered[gather_bytes];
    if (first.size() < gather_bytes) {
      std::size_t n = first.size();
      for (++it; it != end; ++it) {
        const boost::asio::const_buffer b(*it);
        if (b.size() == 0) continue;  // its data() may be null, which memcpy must not get
        if (n + b.size() > gather_bytes) break;
        std::memcpy(gathered + n, b.data(), b.size());
        n += b.size();
      }
      if (n > first.size()) {
        std::memcpy(gathered, first.data(), first.size());
        data = {gathered, n};
      }
    }
    std::error_code e;
    conn_.write(data, e);
    if (e) {
      ec = e;
      return 0;
    }
    return data.size();
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  template <class Buffer, class Sequence>
  static Buffer first_nonempty(const Sequence& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
      const Buffer b(*it);
      if (b.size() != 0) return b;
    }
    return Buffer();
  }

  conn conn_;
};

}  // namespace goro::net

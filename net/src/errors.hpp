// Go's error texts for goro::net (net.go's OpError, os.SyscallError): what every operation
// puts into the op_error it throws. Defined in addr.cpp.
#pragma once

#include <goro/net.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace goro::net::detail {

// Go's OpError text: "op net source->addr: err", with the parts that are empty left out.
std::string op_text(std::string_view op, std::string_view net, const addr& source, const addr& dest,
                    std::string_view err);
// The text of a system error as Go prints it: strerror with a lower-case first letter.
std::string errno_text(int err);
// The text of ec as Go prints it (errno codes lower-cased).
std::string error_text(std::error_code ec);
// An op_error for op on (source, dest) with code ec; `call` names the system call that
// failed for errno codes ("read: connection reset by peer"), as Go's os.SyscallError.
op_error make_op_error(std::string_view op, std::string_view net, const addr& source,
                       const addr& dest, std::error_code ec, std::string_view call = {});

}  // namespace goro::net::detail

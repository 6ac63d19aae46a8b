#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include "net/detail/stream_operations.hpp"

namespace podsession::net::detail {

template struct stream_operations<tls_stream>;

asio::awaitable<boost::system::error_code> tls_handshake(tls_stream& stream,
                                                         const std::string& host,
                                                         std::chrono::milliseconds timeout) {
    // Server Name Indication carries host names only, never IP addresses.
    boost::system::error_code parse_error;
    asio::ip::make_address(host, parse_error);
    if (parse_error && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
        co_return make_error_code(errc::tls_failure);
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(host));

    beast::get_lowest_layer(stream).expires_after(timeout);
    const auto [error] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
    beast::get_lowest_layer(stream).expires_never();
    if (!error) {
        co_return boost::system::error_code{};
    }
    const auto classified = classify(error);
    co_return classified == errc::timeout || classified == errc::cancelled
        ? classified
        : make_error_code(errc::tls_failure);
}

}  // namespace podsession::net::detail

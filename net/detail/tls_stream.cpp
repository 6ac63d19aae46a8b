#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

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
    if (classified == errc::timeout || classified == errc::cancelled) {
        co_return classified;
    }
    // A rejected chain or host name is worth its own code: the fix is a CA
    // file or a URL, not a retry.
    const bool verify_failed = error.category() == asio::error::get_ssl_category() &&
                               ERR_GET_REASON(error.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED;
    const bool verifying = (SSL_get_verify_mode(stream.native_handle()) & SSL_VERIFY_PEER) != 0;
    if (verify_failed ||
        (verifying && SSL_get_verify_result(stream.native_handle()) != X509_V_OK)) {
        co_return make_error_code(errc::untrusted_certificate);
    }
    co_return make_error_code(errc::tls_failure);
}

}  // namespace podsession::net::detail

#include <stdexcept>
#include <string>

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/detail/server_session.hpp"

namespace podsession::net::detail {

namespace ssl = asio::ssl;
using tls_server_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

// Shakes hands within the read timeout, then serves requests. A client that
// does not complete the handshake is dropped without a log line, as a plain
// connection that sends nothing would be.
asio::awaitable<void> handshake_and_serve(server::state& self, tls_server_stream& stream,
                                          server_connection& current, const tcp::endpoint& remote) {
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(self.options.read_timeout);
    const auto [error] =
        co_await stream.async_handshake(ssl::stream_base::server, server_use_tuple);
    if (error) {
        spdlog::debug("TLS handshake with a client failed remote={} error={}",
                      format_endpoint(remote), error.message());
        co_return;
    }
    co_await serve_requests(self, stream, current, remote);
}

}  // namespace

asio::awaitable<void> serve_tls(std::shared_ptr<server::state> self, tcp::socket socket) {
    tls_server_stream stream{beast::tcp_stream{std::move(socket)}, *self->tls};
    co_await run_connection(std::move(self), stream, handshake_and_serve);
}

std::shared_ptr<ssl::context> make_server_tls_context(const server_tls_options& options) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                         ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);

    boost::system::error_code error;
    context->use_certificate_chain_file(options.certificate_chain_file.string(), error);
    if (error) {
        throw std::runtime_error{"cannot load the TLS certificate chain \"" +
                                 options.certificate_chain_file.string() +
                                 "\": " + error.message()};
    }
    context->use_private_key_file(options.private_key_file.string(), ssl::context::pem, error);
    if (error) {
        throw std::runtime_error{"cannot load the TLS private key \"" +
                                 options.private_key_file.string() + "\": " + error.message()};
    }
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
        throw std::runtime_error{"the TLS private key \"" + options.private_key_file.string() +
                                 "\" does not match the certificate \"" +
                                 options.certificate_chain_file.string() + "\""};
    }
    return context;
}

}  // namespace podsession::net::detail

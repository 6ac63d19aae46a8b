#include <stdexcept>
#include <string>

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>

#include "net/detail/connection.hpp"

namespace podsession::net::detail {

namespace ssl = boost::asio::ssl;

namespace {

template <class Load>
void load_or_throw(std::string_view description, const std::string& file, Load&& load) {
    boost::system::error_code error;
    load(error);
    if (error) {
        throw std::runtime_error{"cannot load " + std::string{description} + " \"" + file +
                                 "\": " + error.message()};
    }
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_options& options) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);

    if (options.verification == peer_verification::insecure_skip) {
        context->set_verify_mode(ssl::verify_none);
    } else {
        context->set_verify_mode(ssl::verify_peer);
        if (options.ca_file) {
            const std::string file = options.ca_file->string();
            load_or_throw("CA file", file,
                          [&](auto& error) { context->load_verify_file(file, error); });
        }
        if (!options.ca_pem.empty()) {
            load_or_throw("CA certificate", "inline PEM", [&](auto& error) {
                context->add_certificate_authority(boost::asio::buffer(options.ca_pem), error);
            });
        }
        if (!options.ca_file && options.ca_pem.empty()) {
            load_or_throw("system CA store", "default paths",
                          [&](auto& error) { context->set_default_verify_paths(error); });
        }
    }

    if (options.certificate_file) {
        const std::string file = options.certificate_file->string();
        load_or_throw("client certificate", file,
                      [&](auto& error) { context->use_certificate_chain_file(file, error); });
    }
    if (options.private_key_file) {
        const std::string file = options.private_key_file->string();
        load_or_throw("client private key", file, [&](auto& error) {
            context->use_private_key_file(file, ssl::context::pem, error);
        });
    }
    if (!options.certificate_pem.empty()) {
        load_or_throw("client certificate", "inline PEM", [&](auto& error) {
            context->use_certificate_chain(boost::asio::buffer(options.certificate_pem), error);
        });
    }
    if (!options.private_key_pem.empty()) {
        load_or_throw("client private key", "inline PEM", [&](auto& error) {
            context->use_private_key(boost::asio::buffer(options.private_key_pem),
                                     ssl::context::pem, error);
        });
    }
    return context;
}

}  // namespace podsession::net::detail

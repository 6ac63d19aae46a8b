#include "net/error.hpp"

#include <string>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace podsession::net {

namespace {

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "podsession.net"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_url:
                return "invalid URL";
            case errc::connect_failed:
                return "connect failed";
            case errc::tls_failure:
                return "TLS handshake failed";
            case errc::timeout:
                return "timed out";
            case errc::connection_reset:
                return "connection closed before the response was complete";
            case errc::too_large:
                return "response exceeds the size limit";
            case errc::protocol_error:
                return "invalid HTTP message";
            case errc::cancelled:
                return "cancelled";
            case errc::untrusted_certificate:
                return "the server's TLS certificate failed verification";
        }
        return "unknown network error";
    }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
    static const category instance;
    return instance;
}

boost::system::error_code classify(const boost::system::error_code& error) {
    namespace asio = boost::asio;
    namespace http = boost::beast::http;

    if (!error || error.category() == net_category()) {
        return error;
    }
    if (error == boost::beast::error::timeout || error == asio::error::timed_out) {
        return errc::timeout;
    }
    if (error == asio::error::operation_aborted) {
        return errc::cancelled;
    }
    if (error == http::error::body_limit || error == http::error::header_limit ||
        error == http::error::buffer_overflow) {
        return errc::too_large;
    }
    if (error == http::error::end_of_stream || error == http::error::partial_message ||
        error == asio::error::eof || error == asio::error::connection_reset ||
        error == asio::error::connection_aborted || error == asio::error::broken_pipe ||
        error == asio::error::not_connected || error == asio::ssl::error::stream_truncated) {
        return errc::connection_reset;
    }
    if (error.category() == http::make_error_code(http::error::bad_version).category()) {
        return errc::protocol_error;
    }
    if (error.category() == asio::error::get_ssl_category()) {
        return errc::tls_failure;
    }
    if (error == asio::error::connection_refused || error == asio::error::host_unreachable ||
        error == asio::error::network_unreachable || error == asio::error::host_not_found ||
        error == asio::error::host_not_found_try_again || error == asio::error::no_data) {
        return errc::connect_failed;
    }
    return errc::connection_reset;
}

}  // namespace podsession::net

#include "controller/kubernetes/api_client.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "controller/files.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;

// An error body is read only this far; the rest is not needed to classify it.
constexpr std::size_t max_error_body = 64 * 1024;
constexpr std::size_t max_token_bytes = 64 * 1024;
// A silent watch is given this long beyond its own timeout before it counts as
// broken.
constexpr auto watch_grace = std::chrono::seconds{30};

std::string trim(std::string text) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
    text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
    return text;
}

// The path without its query, for logs.
std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

std::string_view retry_after_of(const http::fields& headers) {
    const auto found = headers.find(http::field::retry_after);
    return found == headers.end() ? std::string_view{} : std::string_view{found->value()};
}

std::unique_ptr<net::client> make_http_client(asio::any_io_executor executor,
                                              const connection_config& config,
                                              const api_client::options& settings,
                                              std::chrono::milliseconds read_timeout) {
    net::client_options http;
    http.tls = config.tls;
    http.request_timeout = settings.request_timeout;
    http.read_timeout = read_timeout;
    http.connect_timeout =
        std::min<std::chrono::milliseconds>(settings.request_timeout, std::chrono::seconds{10});
    http.user_agent = settings.user_agent;
    try {
        return std::make_unique<net::client>(std::move(executor), config.server, std::move(http));
    } catch (const std::exception& error) {
        throw config_error{"cannot set up the Kubernetes client from " + config.source + ": " +
                           error.what()};
    }
}

}  // namespace

api_client::api_client(asio::any_io_executor executor, connection_config config, options settings)
    : executor_{executor},
      config_{std::move(config)},
      options_{std::move(settings)},
      tokens_{options_.burst},
      tokens_at_{std::chrono::steady_clock::now()} {
    http_ = make_http_client(executor_, config_, options_, options_.request_timeout);
    watch_http_ =
        make_http_client(executor_, config_, options_, options_.watch_timeout + watch_grace);
    plain_http_ = !http_->target_origin().tls;
    if (plain_http_ && (config_.token || !config_.token_file.empty() ||
                        config_.tls.certificate_file || !config_.tls.certificate_pem.empty())) {
        // kubectl does the same: credentials never travel over plain HTTP.
        spdlog::warn(
            "the Kubernetes API server is plain HTTP; its credentials are not sent source={}",
            log::quote(config_.source));
    }
}

void api_client::close() {
    http_->close();
    watch_http_->close();
}

std::optional<std::string> api_client::authorization() {
    if (plain_http_) {
        return std::nullopt;
    }
    if (!config_.token_file.empty()) {
        const auto now = std::chrono::steady_clock::now();
        if (!token_read_at_ || now - *token_read_at_ >= options_.token_refresh) {
            token_read_at_ = now;
            auto text = read_file(config_.token_file, max_token_bytes);
            if (text && !trim(*text).empty()) {
                file_token_.emplace(trim(std::move(*text)));
            } else if (const auto held_back = repeats_.admit("token file", now); held_back >= 0) {
                // The last token read stays in use: a rotation may be in progress.
                spdlog::error("cannot read the Kubernetes token file file={} error={} repeats={}",
                              log::quote(config_.token_file.string()),
                              log::quote(text ? "empty file" : text.error().message()), held_back);
            }
        }
        if (file_token_) {
            return "Bearer " + std::string{file_token_->reveal()};
        }
    }
    if (config_.token) {
        return "Bearer " + std::string{config_.token->reveal()};
    }
    return std::nullopt;
}

net::request api_client::make_request(const api_request& request) {
    net::request message;
    message.method = request.method;
    message.target = request.target;
    message.headers.set(http::field::accept, json_type);
    if (request.body) {
        message.headers.set(http::field::content_type, request.content_type);
        message.body = boost::json::serialize(*request.body);
    }
    if (auto header = authorization()) {
        message.headers.set(http::field::authorization, *header);
    }
    return message;
}

asio::awaitable<void> api_client::wait_for_rate_limit() {
    if (options_.requests_per_second <= 0) {
        co_return;
    }
    // A reservation, as golang.org/x/time/rate has them: take a token now and
    // wait until the bucket would have held_back it.
    const auto now = std::chrono::steady_clock::now();
    const std::chrono::duration<double> elapsed = now - tokens_at_;
    tokens_ = std::min(options_.burst, tokens_ + elapsed.count() * options_.requests_per_second);
    tokens_at_ = now;
    tokens_ -= 1;
    if (tokens_ >= 0) {
        co_return;
    }
    const std::chrono::duration<double> delay{-tokens_ / options_.requests_per_second};
    asio::steady_timer timer{executor_,
                             std::chrono::duration_cast<std::chrono::nanoseconds>(delay)};
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void api_client::report_auth_failure(const api_error& error, const api_request& request) {
    const auto key = std::to_string(error.http_status) + " " +
                     std::string{http::to_string(request.method)} + " " +
                     std::string{path_of(request.target)};
    const auto held_back = repeats_.admit(key, std::chrono::steady_clock::now());
    if (held_back < 0) {
        return;
    }
    if (error.is(errc::unauthorized)) {
        spdlog::error(
            "the Kubernetes API rejected the controller's credentials; check the token or client "
            "certificate of the source source={} method={} path={} {} repeats={}",
            log::quote(config_.source), http::to_string(request.method),
            log::quote(path_of(request.target)), error.describe(), held_back);
    } else {
        spdlog::error(
            "the Kubernetes API forbids a request of the controller; grant the verb on the "
            "resource to its identity with RBAC (see manifests/rbac.yaml) source={} method={} "
            "path={} {} repeats={}",
            log::quote(config_.source), http::to_string(request.method),
            log::quote(path_of(request.target)), error.describe(), held_back);
    }
}

asio::awaitable<api_result<boost::json::value>> api_client::send(api_request request) {
    co_await wait_for_rate_limit();
    auto sent = co_await http_->send(make_request(request));
    if (!sent) {
        co_return transport_error(sent.error());
    }
    if (sent->status < 200 || sent->status > 299) {
        auto error = classify_response(sent->status, sent->body, retry_after_of(sent->headers));
        if (error.is(errc::unauthorized) || error.is(errc::forbidden)) {
            report_auth_failure(error, request);
        }
        co_return error;
    }
    if (sent->body.empty()) {
        co_return boost::json::value{};
    }
    boost::system::error_code parse_error;
    auto parsed = boost::json::parse(sent->body, parse_error);
    if (parse_error) {
        co_return make_api_error(errc::malformed_response,
                                 "response body is not JSON: " + parse_error.message());
    }
    co_return std::move(parsed);
}

asio::awaitable<api_result<watch_stream>> api_client::watch(std::string target) {
    api_request request{http::verb::get, std::move(target), std::nullopt, json_type};
    auto opened = co_await watch_http_->open_stream(make_request(request));
    if (!opened) {
        co_return transport_error(opened.error());
    }
    if (opened->status() == 200) {
        co_return watch_stream{std::move(*opened)};
    }

    // An error status: read the Status object to classify it.
    std::string body;
    while (body.size() < max_error_body) {
        auto line = co_await opened->read_line();
        if (!line || !*line) {
            break;
        }
        body += **line;
        body += '\n';
    }
    auto error = classify_response(opened->status(), body, retry_after_of(opened->headers()));
    if (error.is(errc::unauthorized) || error.is(errc::forbidden)) {
        report_auth_failure(error, request);
    }
    co_return error;
}

asio::awaitable<api_result<std::optional<watch_event>>> watch_stream::next() {
    for (;;) {
        auto line = co_await stream_.read_line();
        if (!line) {
            co_return transport_error(line.error());
        }
        if (!*line) {
            co_return std::optional<watch_event>{};
        }
        if ((*line)->empty()) {
            continue;
        }
        auto decoded = decode_watch_event(**line);
        if (!decoded) {
            co_return make_api_error(errc::malformed_response, decoded.error());
        }
        co_return std::optional<watch_event>{std::move(*decoded)};
    }
}

}  // namespace podsession::controller::kubernetes

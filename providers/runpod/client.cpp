#include "providers/runpod/client.hpp"

#include <cctype>
#include <stdexcept>
#include <utility>

#include "providers/runpod/codec.hpp"

namespace podsession::providers::runpod {

namespace asio = boost::asio;
namespace http = net::http;

namespace {

// Percent-encodes a pod id for a path segment. RunPod ids are alphanumeric,
// so this only matters for an id that came from somewhere else.
std::string encode_segment(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            encoded += c;
        } else {
            encoded += '%';
            encoded += hex[byte >> 4];
            encoded += hex[byte & 0xF];
        }
    }
    return encoded;
}

net::request make_request(http::verb method, std::string target) {
    net::request request;
    request.method = method;
    request.target = std::move(target);
    request.headers.set(http::field::accept, "application/json");
    return request;
}

}  // namespace

client::client(asio::any_io_executor executor, client_options options)
    : http_{std::move(executor), options.base_url, std::move(options.http)},
      api_key_{std::move(options.api_key)} {
    if (api_key_.empty()) {
        throw std::invalid_argument{"the RunPod API key is empty"};
    }
}

asio::awaitable<result<net::response>> client::call(api_operation operation, net::request request,
                                                    const redactor& redactor) {
    request.headers.set(http::field::authorization, "Bearer " + api_key_);
    auto sent = co_await http_.send(std::move(request));
    if (!sent) {
        co_return classify_transport(operation, sent.error());
    }

    const auto& headers = sent->headers;
    const auto rate_limit_header = headers.find("RateLimit");
    const auto policy_header = headers.find("RateLimit-Policy");
    if (rate_limit_header != headers.end() || policy_header != headers.end()) {
        const auto value_of = [&](auto found) {
            return found != headers.end() ? std::string_view{found->value()} : std::string_view{};
        };
        last_rate_limit_ = parse_rate_limit(value_of(rate_limit_header), value_of(policy_header));
    }

    if (sent->status < 200 || sent->status >= 300) {
        co_return classify_response(operation, *sent, redactor);
    }
    co_return std::move(*sent);
}

asio::awaitable<result<crd::observed_pod>> client::create_pod(const create_pod_request& request) {
    std::vector<std::string> secrets{api_key_};
    for (const auto& [name, value] : request.env) {
        secrets.push_back(value);
    }
    const redactor redactor{std::move(secrets)};

    auto message = make_request(http::verb::post, "/v2/pods");
    message.headers.set(http::field::content_type, "application/json");
    message.body = encode_create_request(request);
    auto sent = co_await call(api_operation::create_pod, std::move(message), redactor);
    if (!sent) {
        co_return sent.error();
    }

    auto pod = decode_pod(sent->body);
    if (!pod) {
        co_return malformed_response(api_operation::create_pod, sent->status, pod.error().message);
    }
    co_return std::move(*pod);
}

asio::awaitable<result<std::vector<crd::observed_pod>>> client::list_pods() {
    const redactor redactor{{api_key_}};
    auto sent = co_await call(api_operation::list_pods, make_request(http::verb::get, "/v2/pods"),
                              redactor);
    if (!sent) {
        co_return sent.error();
    }

    auto pods = decode_pod_list(sent->body);
    if (!pods) {
        co_return malformed_response(api_operation::list_pods, sent->status, pods.error().message);
    }
    co_return std::move(*pods);
}

asio::awaitable<result<crd::observed_pod>> client::get_pod(std::string_view pod_id) {
    const redactor redactor{{api_key_}};
    auto sent = co_await call(api_operation::get_pod,
                              make_request(http::verb::get, "/v2/pods/" + encode_segment(pod_id)),
                              redactor);
    if (!sent) {
        co_return sent.error();
    }

    auto pod = decode_pod(sent->body);
    if (!pod) {
        co_return malformed_response(api_operation::get_pod, sent->status, pod.error().message);
    }
    co_return std::move(*pod);
}

asio::awaitable<result<void>> client::terminate_pod(std::string_view pod_id) {
    const redactor redactor{{api_key_}};
    auto sent = co_await call(
        api_operation::delete_pod,
        make_request(http::verb::delete_, "/v2/pods/" + encode_segment(pod_id)), redactor);
    if (!sent) {
        co_return sent.error();
    }
    co_return result<void>{};
}

std::unique_ptr<provider> make_provider(asio::any_io_executor executor, client_options options) {
    return std::make_unique<client>(std::move(executor), std::move(options));
}

}  // namespace podsession::providers::runpod

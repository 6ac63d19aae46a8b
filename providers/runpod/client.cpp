#include "providers/runpod/client.hpp"

#include <cctype>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "providers/runpod/codec.hpp"

namespace podsession::providers::runpod {

namespace asio = boost::asio;
namespace http = net::http;
using std::chrono::milliseconds;

namespace {

// A 429 without `Retry-After` or an exhausted window blocks this long.
constexpr milliseconds default_retry_after{1'000};
// Waits for the rate limit are logged at most this often.
constexpr auto wait_log_interval = std::chrono::seconds{10};

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

api_key_source make_key_source(const client_options& options) {
    if (options.api_key_file) {
        return api_key_source{*options.api_key_file};
    }
    return api_key_source{options.api_key};
}

// The failure of a request that the rate limit kept from being sent.
provider_error rate_limit_exceeded(api_operation operation, milliseconds wait) {
    provider_error error;
    error.code = make_error_code(errc::rate_limited);
    error.retry_after = wait;
    error.message = "RunPod " + std::string{to_string(operation)} +
                    " not sent: RunPod's rate limit allows the next request in " +
                    std::to_string(std::chrono::ceil<std::chrono::seconds>(wait).count()) + " s";
    return error;
}

// Whether a failed call is worth sending again: a transient failure, or a
// 429 from RunPod. A rate limit that kept the request unsent is not, because
// the wait it reports is longer than the client may wait.
bool is_retryable(const provider_error& error) {
    return error.is(errc::transient) || (error.is(errc::rate_limited) && error.http_status == 429);
}

// Gives a reservation of the rate limiter back when the request got no
// response, including when the coroutine is destroyed mid-request. It shares
// the limiter, because an io_context destroyed after the client destroys the
// suspended coroutine frames last.
class reservation {
  public:
    explicit reservation(std::shared_ptr<rate_limiter> limiter) : limiter_{std::move(limiter)} {}
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    ~reservation() {
        if (limiter_) {
            limiter_->abandon();
        }
    }

    void complete(const rate_limit& reported, rate_limiter::clock::time_point now) {
        limiter_->complete(reported, now);
        limiter_.reset();
    }

  private:
    std::shared_ptr<rate_limiter> limiter_;
};

}  // namespace

client::client(asio::any_io_executor executor, client_options options)
    : http_{std::move(executor), options.base_url, std::move(options.http)},
      api_key_{make_key_source(options)},
      retries_{options.retries},
      max_rate_limit_wait_{options.max_rate_limit_wait},
      list_body_limit_{options.list_body_limit},
      timing_{std::move(options.timing)},
      jitter_{timing_.jitter_seed != 0 ? timing_.jitter_seed : std::random_device{}()},
      limiter_{std::make_shared<rate_limiter>()} {}

asio::awaitable<void> client::sleep(milliseconds delay) {
    if (timing_.sleep) {
        co_await timing_.sleep(delay);
        co_return;
    }
    asio::steady_timer timer{co_await asio::this_coro::executor, delay};
    co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<std::optional<provider_error>> client::wait_for_rate_limit(
    api_operation operation) {
    milliseconds waited{0};
    for (;;) {
        const auto wait = limiter_->reserve(timing_.now());
        if (!wait) {
            co_return std::nullopt;
        }
        if (waited + *wait > max_rate_limit_wait_) {
            co_return rate_limit_exceeded(operation, *wait);
        }
        if (*wait > rate_limiter::probe_interval) {
            const auto now = std::chrono::steady_clock::now();
            if (!last_wait_log_ || now - *last_wait_log_ >= wait_log_interval) {
                last_wait_log_ = now;
                spdlog::info("waiting for RunPod's rate limit operation={} wait_ms={}",
                             to_string(operation), wait->count());
            }
        }
        co_await sleep(*wait);
        waited += *wait;
    }
}

asio::awaitable<result<net::response>> client::send_once(api_operation operation,
                                                         net::request request,
                                                         std::vector<std::string> secrets) {
    // Wait until the rate limit lets this request go.
    if (auto refused = co_await wait_for_rate_limit(operation)) {
        co_return std::move(*refused);
    }
    reservation reserved{limiter_};

    // Send it with the key as it is now, so that a rotated key file applies
    // to the next request.
    request.headers.set(http::field::authorization, "Bearer " + api_key_.current());
    const auto body_limit = operation == api_operation::list_pods
                                ? std::optional<std::size_t>{list_body_limit_}
                                : std::nullopt;
    auto sent = co_await http_.send(std::move(request), body_limit);
    if (!sent) {
        co_return classify_transport(operation, sent.error());
    }

    // Learn the quota from the headers, whatever the status.
    const auto& headers = sent->headers;
    const auto rate_limit_header = headers.find("RateLimit");
    const auto policy_header = headers.find("RateLimit-Policy");
    rate_limit reported;
    if (rate_limit_header != headers.end() || policy_header != headers.end()) {
        const auto value_of = [&](auto found) {
            return found != headers.end() ? std::string_view{found->value()} : std::string_view{};
        };
        reported = parse_rate_limit(value_of(rate_limit_header), value_of(policy_header));
        last_rate_limit_ = reported;
    }
    reserved.complete(reported, timing_.now());

    if (sent->status >= 200 && sent->status < 300) {
        co_return std::move(*sent);
    }
    for (const auto& key : api_key_.known_keys()) {
        secrets.push_back(key);
    }
    auto error = classify_response(operation, *sent, redactor{std::move(secrets)});
    if (error.is(errc::rate_limited)) {
        // Every request waits, not only this one: RunPod counts them all.
        limiter_->retry_after(error.retry_after.value_or(default_retry_after), timing_.now());
    }
    co_return error;
}

asio::awaitable<result<net::response>> client::call(api_operation operation, net::request request,
                                                    std::vector<std::string> secrets) {
    const auto started = timing_.now();
    for (int attempt = 0;; ++attempt) {
        auto sent = co_await send_once(operation, request, secrets);
        if (sent || operation == api_operation::create_pod) {
            co_return sent;
        }
        const auto& error = sent.error();
        if (!is_retryable(error) || attempt + 1 >= retries_.max_attempts) {
            co_return sent;
        }

        // After a 429 the rate limiter already delays every request.
        std::uniform_real_distribution<double> unit{0.0, 1.0};
        const auto delay =
            error.is(errc::rate_limited) ? milliseconds{0} : retries_.delay(attempt, unit(jitter_));
        if (timing_.now() - started + delay > retries_.budget) {
            co_return sent;
        }
        spdlog::info("retrying RunPod request operation={} attempt={} delay_ms={} error=\"{}\"",
                     to_string(operation), attempt + 2, delay.count(), error.message);
        if (delay > milliseconds::zero()) {
            co_await sleep(delay);
        }
    }
}

asio::awaitable<result<crd::observed_pod>> client::create_pod(const create_pod_request& request) {
    std::vector<std::string> secrets;
    for (const auto& [name, value] : request.env) {
        secrets.push_back(value);
    }

    auto message = make_request(http::verb::post, "/v2/pods");
    message.headers.set(http::field::content_type, "application/json");
    message.body = encode_create_request(request);
    auto sent = co_await call(api_operation::create_pod, std::move(message), std::move(secrets));
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
    auto sent = co_await call(api_operation::list_pods, make_request(http::verb::get, "/v2/pods"));
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
    auto sent = co_await call(api_operation::get_pod,
                              make_request(http::verb::get, "/v2/pods/" + encode_segment(pod_id)));
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
    auto sent =
        co_await call(api_operation::delete_pod,
                      make_request(http::verb::delete_, "/v2/pods/" + encode_segment(pod_id)));
    if (!sent) {
        co_return sent.error();
    }
    co_return result<void>{};
}

std::unique_ptr<provider> make_provider(asio::any_io_executor executor, client_options options) {
    return std::make_unique<client>(std::move(executor), std::move(options));
}

}  // namespace podsession::providers::runpod

#include "providers/simulated/simulator.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <deque>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace podsession::providers::simulated {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;

namespace {

constexpr std::string_view json_type = "application/json";
constexpr std::string_view problem_type = "application/problem+json";

net::response to_response(outcome result) {
    net::response message;
    message.status = result.status;
    if (result.status != 204) {
        message.headers.set(http::field::content_type,
                            result.status >= 400 ? problem_type : json_type);
        message.body = std::move(result.body);
    }
    return message;
}

bool has_valid_key(const net::server_request& request, std::string_view api_key) {
    const auto found = request.message.headers.find(http::field::authorization);
    if (found == request.message.headers.end()) {
        return false;
    }
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view value = found->value();
    if (!value.starts_with(scheme)) {
        return false;
    }
    const std::string_view presented = value.substr(scheme.size());
    return presented.size() == api_key.size() &&
           CRYPTO_memcmp(presented.data(), api_key.data(), api_key.size()) == 0;
}

outcome unauthorized(const net::server_request& request) {
    const bool missing =
        request.message.headers.find(http::field::authorization) == request.message.headers.end();
    return problem(401, missing ? "missing bearer token" : "invalid bearer token");
}

}  // namespace

std::vector<rate_limit_policy> default_rate_limits() {
    using std::chrono::seconds;
    return {{"minute", 600, seconds{60}},
            {"hour", 30'000, seconds{3600}},
            {"day", 500'000, seconds{86'400}}};
}

// How many requests `/_sim/requests` keeps, the oldest dropped first.
constexpr std::size_t request_log_limit = 10'000;

struct simulator::state {
    simulator_options options;
    pod_store store;
    fault_rules rules;
    std::map<operation, std::size_t> calls;
    std::vector<exchange_record> exchanges;
    std::deque<request_record> requests;

    // Fixed windows that start with the first request after the last one ended.
    struct window_usage {
        sim_clock::time_point started{};
        std::int64_t used = 0;
        // Requests rejected with 429 because this window was exhausted.
        std::uint64_t rejected = 0;
    };
    std::vector<window_usage> usage;

    explicit state(simulator_options options_)
        : options{std::move(options_)},
          store{options.store},
          rules{store, options.initial_faults},
          usage(options.rate_limits.size()) {}

    void log_request(operation called, const net::reply& reply, sim_clock::time_point received) {
        if (requests.size() >= request_log_limit) {
            requests.pop_front();
        }
        requests.push_back({.called = called,
                            .status = reply.message.status,
                            .dropped = reply.mode == net::reply_mode::close_without_reply,
                            .received = received,
                            .answered = store.now()});
    }

    // Sets the rate limit headers on `message`. With `consume`, also counts
    // the request against every window and returns the seconds to wait when
    // one is exhausted.
    std::optional<std::chrono::seconds> take_quota(net::response& message, bool consume) {
        const auto now = store.now();
        std::optional<std::chrono::seconds> wait;
        std::string remaining_header;
        std::string policy_header;
        for (std::size_t i = 0; i < usage.size(); ++i) {
            const auto& policy = options.rate_limits[i];
            auto& window = usage[i];
            if (now - window.started >= policy.length) {
                window = window_usage{now, 0};
            }
            const auto reset =
                std::chrono::ceil<std::chrono::seconds>(window.started + policy.length - now);
            if (window.used >= policy.quota) {
                wait = std::max(wait.value_or(reset), reset);
                window.rejected += consume ? 1 : 0;
            } else if (consume) {
                ++window.used;
            }
            const auto separator = i == 0 ? "" : ", ";
            remaining_header += separator + ("\"" + policy.name + "\";r=") +
                                std::to_string(policy.quota - window.used) +
                                ";t=" + std::to_string(reset.count());
            policy_header += separator + ("\"" + policy.name + "\";q=") +
                             std::to_string(policy.quota) +
                             ";w=" + std::to_string(policy.length.count());
        }
        if (!usage.empty()) {
            message.headers.set("RateLimit", remaining_header);
            message.headers.set("RateLimit-Policy", policy_header);
        }
        return wait;
    }

    outcome apply(operation called, const net::server_request& request) {
        switch (called) {
            case operation::create_pod:
                return store.create(request.message.body);
            case operation::list_pods:
                return store.list();
            case operation::get_pod:
                return store.get(request.parameter("id"));
            case operation::delete_pod:
                return store.remove(request.parameter("id"));
            case operation::pod_action:
                return store.act(request.parameter("id"), request.message.body);
        }
        return problem(500, "unknown operation");
    }
};

namespace {

asio::awaitable<net::reply> serve_api(std::shared_ptr<simulator::state> self, operation called,
                                      net::server_request& request) {
    ++self->calls[called];
    const auto received = self->store.now();

    // Authenticate, then count the request against the quota.
    net::reply result{net::response{}};
    net::response quota_headers;
    const bool authorized = has_valid_key(request, self->options.api_key);
    const auto wait = self->take_quota(quota_headers, authorized);
    if (!authorized) {
        result = to_response(unauthorized(request));
    } else {
        std::optional<net::reply> replaced;
        if (!wait && self->options.faults) {
            replaced = co_await self->options.faults->before(called, request);
        }
        if (!wait && !replaced) {
            replaced = co_await self->rules.before(called, request);
        }
        if (wait) {
            result = to_response(problem(429, "rate limit exceeded"));
            result.message.headers.set(http::field::retry_after, std::to_string(wait->count()));
        } else if (replaced) {
            result = std::move(*replaced);
        } else {
            result = to_response(self->apply(called, request));
            co_await self->rules.after(called, request, result);
            if (self->options.faults) {
                co_await self->options.faults->after(called, request, result);
            }
        }
    }
    for (const auto& field : quota_headers.headers) {
        result.message.headers.set(field.name_string(), field.value());
    }

    spdlog::debug("simulated RunPod request operation={} status={}", to_string(called),
                  result.message.status);
    self->log_request(called, result, received);
    if (self->options.record_exchanges) {
        exchange_record record{.called = called,
                               .method = std::string{http::to_string(request.message.method)},
                               .target = request.message.target,
                               .status = result.message.status,
                               .request_body = request.message.body,
                               .response_body = result.message.body,
                               .response_headers = {}};
        for (const auto& field : result.message.headers) {
            record.response_headers.emplace_back(field.name_string(), field.value());
        }
        self->exchanges.push_back(std::move(record));
    }
    co_return result;
}

}  // namespace

json::object to_json(const exchange_record& record) {
    json::object headers;
    for (const auto& [name, value] : record.response_headers) {
        headers[name] = value;
    }
    return json::object{{"operation", to_string(record.called)},
                        {"method", record.method},
                        {"target", record.target},
                        {"status", record.status},
                        {"requestBody", record.request_body},
                        {"responseBody", record.response_body},
                        {"responseHeaders", std::move(headers)}};
}

namespace {

std::int64_t epoch_milliseconds(sim_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

json::object to_json(const request_record& record) {
    return json::object{{"operation", to_string(record.called)},
                        {"status", record.status},
                        {"dropped", record.dropped},
                        {"receivedMs", epoch_milliseconds(record.received)},
                        {"answeredMs", epoch_milliseconds(record.answered)}};
}

// GET lists the rules, PUT replaces them, POST appends to them, DELETE
// removes them all.
net::reply serve_faults(simulator::state& self, const net::server_request& request) {
    const auto method = request.message.method;
    if (method == http::verb::delete_) {
        self.rules.replace(fault_plan{.seed = self.rules.plan().seed, .rules = {}});
        spdlog::info("fault rules removed");
        return to_response(outcome{204, {}});
    }
    if (method != http::verb::get) {
        auto plan = parse_fault_plan(request.message.body);
        if (!plan) {
            return to_response(problem(422, "invalid fault plan: " + plan.error()));
        }
        const auto count = plan->rules.size();
        if (method == http::verb::put) {
            self.rules.replace(std::move(*plan));
        } else {
            self.rules.append(std::move(plan->rules));
        }
        spdlog::info("fault rules {} rules={}", method == http::verb::put ? "replaced" : "added",
                     count);
    }
    return to_response(outcome{200, json::serialize(to_json(self.rules.plan()))});
}

asio::awaitable<net::reply> serve_admin(std::shared_ptr<simulator::state> self,
                                        std::string_view action, net::server_request& request) {
    if (!has_valid_key(request, self->options.api_key)) {
        co_return to_response(unauthorized(request));
    }
    if (action == "state") {
        json::object calls;
        for (const auto called : {operation::create_pod, operation::list_pods, operation::get_pod,
                                  operation::delete_pod, operation::pod_action}) {
            const auto found = self->calls.find(called);
            calls[to_string(called)] = found != self->calls.end() ? found->second : 0;
        }
        json::array limits;
        for (std::size_t i = 0; i < self->usage.size(); ++i) {
            const auto& policy = self->options.rate_limits[i];
            limits.push_back(json::object{{"name", policy.name},
                                          {"quota", policy.quota},
                                          {"windowSeconds", policy.length.count()},
                                          {"rejected", self->usage[i].rejected}});
        }
        json::object body{{"pods", self->store.admin_pods()},
                          {"calls", std::move(calls)},
                          {"rateLimits", std::move(limits)},
                          {"balanceEmpty", self->store.balance_empty()}};
        co_return to_response(outcome{200, json::serialize(body)});
    }
    if (action == "balance") {
        co_return to_response(self->store.admin_set_balance(request.message.body));
    }
    if (action == "faults") {
        co_return serve_faults(*self, request);
    }
    if (action == "requests") {
        json::array requests;
        for (const auto& record : self->requests) {
            requests.push_back(to_json(record));
        }
        co_return to_response(
            outcome{200, json::serialize(json::object{{"requests", std::move(requests)}})});
    }
    if (action == "add") {
        co_return to_response(self->store.admin_add(request.message.body));
    }
    if (action == "status") {
        co_return to_response(
            self->store.admin_set_status(request.parameter("id"), request.message.body));
    }
    if (action == "capacity") {
        co_return to_response(self->store.admin_set_capacity(request.message.body));
    }
    if (!self->options.record_exchanges) {
        co_return to_response(problem(404, "exchanges are recorded only with recording enabled"));
    }
    json::array exchanges;
    for (const auto& record : self->exchanges) {
        exchanges.push_back(to_json(record));
    }
    co_return to_response(
        outcome{200, json::serialize(json::object{{"exchanges", std::move(exchanges)}})});
}

net::router make_routes(const std::shared_ptr<simulator::state>& self) {
    net::router routes;
    const auto api = [&](http::verb method, std::string_view pattern, operation called) {
        routes.add(method, pattern, [self, called](net::server_request& request) {
            return serve_api(self, called, request);
        });
    };
    api(http::verb::post, "/v2/pods", operation::create_pod);
    api(http::verb::get, "/v2/pods", operation::list_pods);
    api(http::verb::get, "/v2/pods/{id}", operation::get_pod);
    api(http::verb::delete_, "/v2/pods/{id}", operation::delete_pod);
    api(http::verb::post, "/v2/pods/{id}/action", operation::pod_action);

    const auto admin = [&](http::verb method, std::string_view pattern, std::string_view action) {
        routes.add(method, pattern, [self, action](net::server_request& request) {
            return serve_admin(self, action, request);
        });
    };
    admin(http::verb::get, "/_sim/state", "state");
    admin(http::verb::post, "/_sim/pods", "add");
    admin(http::verb::put, "/_sim/pods/{id}/status", "status");
    admin(http::verb::put, "/_sim/capacity", "capacity");
    admin(http::verb::get, "/_sim/exchanges", "exchanges");
    admin(http::verb::put, "/_sim/balance", "balance");
    admin(http::verb::get, "/_sim/requests", "requests");
    for (const auto method :
         {http::verb::get, http::verb::put, http::verb::post, http::verb::delete_}) {
        admin(method, "/_sim/faults", "faults");
    }

    routes.set_error_responder([self](unsigned status, const net::server_request&) {
        auto message = to_response(
            problem(status, status == 404 ? "resource not found"
                                          : "The requested method is not allowed for this path."));
        (void)self->take_quota(message, false);
        return message;
    });
    return routes;
}

}  // namespace

simulator::simulator(executor_type executor, simulator_options options) {
    if (options.api_key.empty()) {
        throw std::invalid_argument{"the simulator needs a non-empty API key"};
    }
    const auto server_options = options.server;
    const auto state_path = options.state_file;
    state_ = std::make_shared<state>(std::move(options));
    if (!state_path.empty()) {
        saved_state_ = std::make_unique<simulated::state_file>(executor, state_->store, state_path);
    }
    server_ =
        std::make_unique<net::server>(std::move(executor), make_routes(state_), server_options);
}

simulator::~simulator() {
    stop();
}

boost::system::result<asio::ip::tcp::endpoint> simulator::listen(
    const asio::ip::tcp::endpoint& endpoint) {
    auto bound = server_->listen(endpoint);
    if (bound) {
        endpoint_ = *bound;
    }
    return bound;
}

void simulator::stop() {
    server_->stop();
    if (saved_state_ == nullptr) {
        return;
    }
    const auto saves = saved_state_->save_count();
    if (const auto error = saved_state_->flush()) {
        spdlog::error(
            "cannot save the simulated pods; changes since the last save are lost "
            "file={} error={}",
            saved_state_->path().string(), error.message());
    } else if (saved_state_->save_count() != saves) {
        spdlog::info("simulated pods saved file={} pods={}", saved_state_->path().string(),
                     state_->store.live_pod_count());
    }
}

std::string simulator::base_url() const {
    if (!endpoint_) {
        return {};
    }
    const bool tls = state_->options.server.tls.has_value();
    return (tls ? "https://" : "http://") + net::format_endpoint(*endpoint_);
}

pod_store& simulator::store() noexcept {
    return state_->store;
}

fault_rules& simulator::faults() noexcept {
    return state_->rules;
}

const std::deque<request_record>& simulator::requests() const noexcept {
    return state_->requests;
}

std::map<operation, std::size_t> simulator::call_counts() const {
    return state_->calls;
}

const std::vector<exchange_record>& simulator::exchanges() const noexcept {
    return state_->exchanges;
}

std::string generate_api_key() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        throw std::runtime_error{"OpenSSL RAND_bytes failed"};
    }
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string key;
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (const unsigned char byte : bytes) {
        bits = (bits << 8) | byte;
        bit_count += 8;
        while (bit_count >= 6) {
            bit_count -= 6;
            key += alphabet[(bits >> bit_count) & 0x3F];
        }
    }
    if (bit_count > 0) {
        key += alphabet[(bits << (6 - bit_count)) & 0x3F];
    }
    return key;
}

in_process_simulator start_in_process(asio::any_io_executor executor, simulator_options options) {
    if (options.api_key.empty()) {
        options.api_key = generate_api_key();
    }
    in_process_simulator started;
    started.api_key = options.api_key;
    started.server = std::make_unique<simulator>(std::move(executor), std::move(options));
    const auto bound =
        started.server->listen(asio::ip::tcp::endpoint{asio::ip::address_v4::loopback(), 0});
    if (!bound) {
        throw std::system_error{bound.error(), "cannot bind the RunPod simulator to 127.0.0.1"};
    }
    started.base_url = started.server->base_url();
    return started;
}

}  // namespace podsession::providers::simulated

#include "net/client.hpp"

#include <deque>
#include <stdexcept>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/detail/connection.hpp"
#include "net/error.hpp"

namespace podsession::net {

namespace asio = boost::asio;
using detail::clock;
using detail::connection;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// RFC 9110 section 9.2.2: repeating these has the effect of sending once.
bool is_idempotent(http::verb method) {
    switch (method) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::put:
        case http::verb::delete_:
        case http::verb::options:
            return true;
        default:
            return false;
    }
}

}  // namespace

struct client::state {
    executor_type executor;
    origin target;
    client_options options;
    std::shared_ptr<asio::ssl::context> tls;

    // Idle connections, the most recently used last.
    std::deque<std::unique_ptr<connection>> idle;
    // Connections lent to a request or a stream, so that `close` reaches them.
    std::unordered_set<connection*> in_use;
    // Connections open, idle or in use; at most `options.max_connections`.
    std::size_t open = 0;
    // Requests waiting for a connection slot; cancelling a timer wakes one.
    std::deque<asio::steady_timer*> waiters;
    bool closed = false;

    void wake_one_waiter() {
        if (!waiters.empty()) {
            waiters.front()->cancel();
            waiters.pop_front();
        }
    }

    void discard(std::unique_ptr<connection> connection) {
        detail::close(*connection);
        --open;
        wake_one_waiter();
    }

    void release(std::unique_ptr<connection> connection, bool reusable) {
        in_use.erase(connection.get());
        if (!reusable || closed || idle.size() >= options.max_idle_connections) {
            discard(std::move(connection));
            return;
        }
        connection->idle_since = clock::now();
        connection->reused = true;
        idle.push_back(std::move(connection));
        wake_one_waiter();
    }

    // Returns an idle connection that still looks open, if there is one.
    std::unique_ptr<connection> take_idle() {
        while (!idle.empty()) {
            auto candidate = std::move(idle.back());
            idle.pop_back();
            const bool fresh = clock::now() - candidate->idle_since < options.idle_timeout;
            if (fresh && candidate->buffer.size() == 0 && detail::looks_reusable(*candidate)) {
                return candidate;
            }
            discard(std::move(candidate));
        }
        return nullptr;
    }

    asio::awaitable<boost::system::result<std::unique_ptr<connection>>> acquire(
        clock::time_point deadline) {
        for (;;) {
            if (closed) {
                co_return make_error_code(errc::cancelled);
            }

            if (auto reused = take_idle()) {
                in_use.insert(reused.get());
                co_return std::move(reused);
            }

            if (open < options.max_connections) {
                ++open;
                auto opened = co_await detail::open_connection(
                    executor, target, tls.get(),
                    detail::time_left(deadline, options.connect_timeout));
                if (!opened) {
                    --open;
                    wake_one_waiter();
                    co_return opened.error();
                }
                if (closed) {
                    discard(std::move(*opened));
                    co_return make_error_code(errc::cancelled);
                }
                in_use.insert(opened->get());
                co_return std::move(*opened);
            }

            // Every slot is taken: wait until one frees up or the deadline passes.
            asio::steady_timer timer{executor, deadline};
            waiters.push_back(&timer);
            const auto [error] = co_await timer.async_wait(use_tuple);
            std::erase(waiters, &timer);
            if (!error) {
                co_return make_error_code(errc::timeout);
            }
        }
    }

    void close_all() {
        closed = true;
        while (!idle.empty()) {
            auto connection = std::move(idle.back());
            idle.pop_back();
            discard(std::move(connection));
        }
        for (auto* connection : in_use) {
            detail::close(*connection);
        }
        for (auto* waiter : waiters) {
            waiter->cancel();
        }
        waiters.clear();
    }

    void complete_headers(request& message) const {
        message.target = target.base_path + (message.target.empty() ? "/" : message.target);
        if (message.headers.find(http::field::host) == message.headers.end()) {
            message.headers.set(http::field::host, target.host_header());
        }
        if (message.headers.find(http::field::user_agent) == message.headers.end()) {
            message.headers.set(http::field::user_agent, options.user_agent);
        }
    }
};

client::client(executor_type executor, std::string_view base_url, client_options options)
    : state_{std::make_shared<state>()} {
    auto parsed = parse_origin(base_url);
    if (!parsed) {
        // The URL itself stays out of the message: it may carry a secret.
        throw std::invalid_argument{
            "invalid base URL: expected http:// or https:// with a host and no query"};
    }
    state_->executor = std::move(executor);
    state_->target = std::move(*parsed);
    if (state_->target.tls) {
        state_->tls = detail::make_tls_context(options.tls);
    }
    state_->options = std::move(options);
}

client::~client() {
    if (state_) {
        state_->close_all();
    }
}

void client::close() {
    state_->close_all();
}

const origin& client::target_origin() const noexcept {
    return state_->target;
}

client::executor_type client::get_executor() const noexcept {
    return state_->executor;
}

asio::awaitable<boost::system::result<response>> client::send(
    request message, std::optional<std::size_t> body_limit) {
    const auto self = state_;
    const auto deadline = clock::now() + self->options.request_timeout;
    const detail::exchange_limits limits{
        .read_timeout = self->options.read_timeout,
        .header_limit = self->options.header_limit,
        .body_limit = body_limit.value_or(self->options.body_limit),
        .deadline = deadline};
    self->complete_headers(message);

    for (int attempt = 0;; ++attempt) {
        auto acquired = co_await self->acquire(deadline);
        if (!acquired) {
            co_return acquired.error();
        }
        auto connection = std::move(*acquired);
        const bool reused = connection->reused;

        auto result = co_await detail::exchange(*connection, message, limits);
        if (result.outcome) {
            self->release(std::move(connection), result.keep_alive);
            co_return std::move(result.outcome);
        }
        self->release(std::move(connection), false);
        if (self->closed) {
            co_return make_error_code(errc::cancelled);
        }

        // A server may close a keep-alive connection just as a request goes
        // out; sending again is safe only if the server cannot have acted.
        const auto error = result.outcome.error();
        const bool replayable =
            !result.request_written || (is_idempotent(message.method) && !result.response_started);
        if (attempt == 0 && reused && replayable && error != errc::timeout) {
            continue;
        }
        co_return error;
    }
}

// ---- streamed responses -------------------------------------------------

struct response_stream::state {
    std::shared_ptr<client::state> owner;
    std::unique_ptr<connection> stream;
    detail::body_parser parser;
    std::chrono::milliseconds read_timeout{};
    std::size_t line_limit = 0;
    unsigned status = 0;
    http::fields headers;
    std::string pending;
    std::vector<char> chunk = std::vector<char>(16 * 1024);
    bool ended = false;

    ~state() {
        if (owner && stream) {
            owner->release(std::move(stream), false);
        }
    }
};

asio::awaitable<boost::system::result<response_stream>> client::open_stream(request message) {
    const auto self = state_;
    const auto deadline = clock::now() + self->options.request_timeout;
    const detail::exchange_limits limits{.read_timeout = self->options.read_timeout,
                                         .header_limit = self->options.header_limit,
                                         .body_limit = self->options.body_limit,
                                         .deadline = deadline};
    self->complete_headers(message);

    auto acquired = co_await self->acquire(deadline);
    if (!acquired) {
        co_return acquired.error();
    }
    auto opened = std::make_unique<response_stream::state>();
    opened->owner = self;
    opened->stream = std::move(*acquired);
    opened->read_timeout = self->options.read_timeout;
    opened->line_limit = self->options.body_limit;

    if (const auto error =
            co_await detail::start_stream(*opened->stream, message, opened->parser, limits)) {
        co_return self->closed ? make_error_code(errc::cancelled) : error;
    }
    const auto& header = opened->parser.get();
    opened->status = header.result_int();
    opened->headers = static_cast<const http::fields&>(header);
    co_return response_stream{std::move(opened)};
}

response_stream::response_stream(std::unique_ptr<state> state) : state_{std::move(state)} {}
response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

unsigned response_stream::status() const noexcept {
    return state_->status;
}

const http::fields& response_stream::headers() const noexcept {
    return state_->headers;
}

void response_stream::close() {
    if (state_ && state_->stream) {
        detail::close(*state_->stream);
    }
}

asio::awaitable<boost::system::result<std::optional<std::string>>> response_stream::read_line() {
    auto& self = *state_;
    for (;;) {
        if (const auto end = self.pending.find('\n'); end != std::string::npos) {
            std::string line = self.pending.substr(0, end);
            self.pending.erase(0, end + 1);
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            co_return std::optional<std::string>{std::move(line)};
        }
        if (self.ended) {
            if (self.pending.empty()) {
                co_return std::optional<std::string>{};
            }
            co_return std::optional<std::string>{std::exchange(self.pending, {})};
        }
        if (self.pending.size() > self.line_limit) {
            co_return make_error_code(errc::too_large);
        }

        const auto read = co_await detail::read_body_some(
            *self.stream, self.parser, self.chunk.data(), self.chunk.size(), self.read_timeout);
        if (!read) {
            co_return self.owner->closed ? make_error_code(errc::cancelled) : read.error();
        }
        if (*read == 0) {
            self.ended = true;
        }
        self.pending.append(self.chunk.data(), *read);
    }
}

// ---- dispatch over the stream type --------------------------------------

namespace detail {

asio::awaitable<exchange_result> exchange(connection& connection, const request& message,
                                          const exchange_limits& limits) {
    if (auto* tls = std::get_if<tls_stream>(&connection.stream)) {
        co_return co_await stream_operations<tls_stream>::exchange(*tls, connection.buffer, message,
                                                                   limits);
    }
    co_return co_await stream_operations<plain_stream>::exchange(
        std::get<plain_stream>(connection.stream), connection.buffer, message, limits);
}

asio::awaitable<boost::system::error_code> start_stream(connection& connection,
                                                        const request& message, body_parser& parser,
                                                        const exchange_limits& limits) {
    if (auto* tls = std::get_if<tls_stream>(&connection.stream)) {
        co_return co_await stream_operations<tls_stream>::start_stream(*tls, connection.buffer,
                                                                       message, parser, limits);
    }
    co_return co_await stream_operations<plain_stream>::start_stream(
        std::get<plain_stream>(connection.stream), connection.buffer, message, parser, limits);
}

asio::awaitable<boost::system::result<std::size_t>> read_body_some(
    connection& connection, body_parser& parser, char* data, std::size_t size,
    std::chrono::milliseconds timeout) {
    if (auto* tls = std::get_if<tls_stream>(&connection.stream)) {
        co_return co_await stream_operations<tls_stream>::read_body_some(
            *tls, connection.buffer, parser, data, size, timeout);
    }
    co_return co_await stream_operations<plain_stream>::read_body_some(
        std::get<plain_stream>(connection.stream), connection.buffer, parser, data, size, timeout);
}

}  // namespace detail

}  // namespace podsession::net

#include "net/server.hpp"

#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/detail/server_state.hpp"

namespace podsession::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> self) {
    while (!self->stopping) {
        // Wait while every connection slot is taken.
        if (self->connections.size() >= self->options.max_connections) {
            self->slot_freed.expires_at(asio::steady_timer::time_point::max());
            co_await self->slot_freed.async_wait(use_tuple);
            continue;
        }

        auto [error, socket] = co_await self->acceptor->async_accept(use_tuple);
        if (self->stopping) {
            break;
        }
        if (error) {
            // Running out of descriptors must not spin: pause before retrying.
            spdlog::warn("HTTP accept failed error={}", error.message());
            asio::steady_timer pause{self->executor, std::chrono::milliseconds{100}};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (self->tls) {
            asio::co_spawn(self->executor, detail::serve_tls(self, std::move(socket)),
                           asio::detached);
        } else {
            asio::co_spawn(self->executor, detail::serve_plain(self, std::move(socket)),
                           asio::detached);
        }
    }
}

}  // namespace

server::server(executor_type executor, router routes, server_options options)
    : state_{std::make_shared<state>(std::move(executor), std::move(routes), options)} {
    if (state_->options.tls) {
        state_->tls = detail::make_server_tls_context(*state_->options.tls);
    }
}

server::~server() {
    stop();
}

boost::system::result<tcp::endpoint> server::listen(const tcp::endpoint& endpoint) {
    boost::system::error_code error;
    tcp::acceptor acceptor{state_->executor};
    acceptor.open(endpoint.protocol(), error);
    if (!error) {
        acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    }
    if (!error) {
        acceptor.bind(endpoint, error);
    }
    if (!error) {
        acceptor.listen(asio::socket_base::max_listen_connections, error);
    }
    if (error) {
        return error;
    }
    const auto bound = acceptor.local_endpoint(error);
    if (error) {
        return error;
    }
    state_->acceptor.emplace(std::move(acceptor));
    asio::co_spawn(state_->executor, accept_loop(state_), asio::detached);
    return bound;
}

void server::stop() {
    auto& self = *state_;
    if (self.stopping) {
        return;
    }
    self.stopping = true;
    boost::system::error_code ignored;
    if (self.acceptor) {
        self.acceptor->close(ignored);
    }
    self.slot_freed.cancel();
    for (auto* current : self.connections) {
        if (!current->busy) {
            current->lowest->socket().cancel(ignored);
        }
    }
}

std::optional<tcp::endpoint> server::local_endpoint() const {
    if (!state_->acceptor || !state_->acceptor->is_open()) {
        return std::nullopt;
    }
    boost::system::error_code error;
    auto endpoint = state_->acceptor->local_endpoint(error);
    if (error) {
        return std::nullopt;
    }
    return endpoint;
}

}  // namespace podsession::net

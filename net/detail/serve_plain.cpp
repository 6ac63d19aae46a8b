#include "net/detail/server_session.hpp"

namespace podsession::net::detail {

asio::awaitable<void> serve_plain(std::shared_ptr<server::state> self, tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    co_await run_connection(
        std::move(self), stream,
        [](server::state& state, beast::tcp_stream& plain, server_connection& current,
           const tcp::endpoint& remote) { return serve_requests(state, plain, current, remote); });
}

}  // namespace podsession::net::detail

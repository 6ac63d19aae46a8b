#include "controller/http_endpoints.hpp"

namespace podsession::controller {

namespace asio = boost::asio;
namespace http = boost::beast::http;

net::router make_endpoints(const metrics& registry, std::function<bool()> ready) {
    net::router routes;
    routes.add(http::verb::get, "/metrics",
               [&registry](net::server_request&) -> asio::awaitable<net::reply> {
                   co_return net::make_response(200, registry.serialize(),
                                                "text/plain; version=0.0.4; charset=utf-8");
               });
    routes.add(http::verb::get, "/healthz",
               [](net::server_request&) -> asio::awaitable<net::reply> {
                   co_return net::make_response(200, "ok\n");
               });
    routes.add(http::verb::get, "/readyz",
               [ready](net::server_request&) -> asio::awaitable<net::reply> {
                   if (ready()) {
                       co_return net::make_response(200, "ok\n");
                   }
                   co_return net::make_response(
                       503, "not ready: sessions or the first pod list are still loading\n");
               });
    return routes;
}

}  // namespace podsession::controller

#include "controller/kubernetes/cluster_controller.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

api_client::options main_client_options(const cluster_settings& settings) {
    api_client::options options;
    options.user_agent = "podsession/" PODSESSION_VERSION " (" + settings.identity + ")";
    return options;
}

// Lease requests must time out well before the renew deadline, and they skip
// the rate limit so that session traffic never delays a renewal.
api_client::options lease_client_options(const cluster_settings& settings) {
    auto options = main_client_options(settings);
    options.request_timeout = std::max<std::chrono::milliseconds>(settings.renew_deadline / 4,
                                                                  std::chrono::milliseconds{500});
    options.requests_per_second = 0;
    return options;
}

}  // namespace

std::string default_identity(const environment_lookup& environment) {
    if (const char* pod = environment("POD_NAME"); pod != nullptr && *pod != '\0') {
        return pod;
    }
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
        std::snprintf(host, sizeof host, "unknown-host");
    }
    return std::string{host} + "_" + std::to_string(::getpid());
}

cluster_controller::cluster_controller(asio::any_io_executor io, cluster_settings settings,
                                       providers::provider& provider, controller::clock& clock,
                                       executor_options executor_settings,
                                       executor_observer* observer, metrics& registry)
    : io_{io},
      settings_{std::move(settings)},
      provider_{provider},
      clock_{clock},
      executor_settings_{std::move(executor_settings)},
      observer_{observer},
      registry_{registry},
      client_{io, settings_.connection, main_client_options(settings_)},
      store_{io, client_, [&] {
                 api_store::options options;
                 options.namespace_name = settings_.watch_namespace;
                 options.identity = settings_.identity;
                 options.events.instance = settings_.identity;
                 if (settings_.leader_elect) {
                     options.may_write = [this] { return elector_ && elector_->leading(); };
                 }
                 return options;
             }()} {
    if (!settings_.leader_elect) {
        executor_ = make_executor(provider_);
        return;
    }

    lease_client_.emplace(io, settings_.connection, lease_client_options(settings_));
    leader_elector::options election;
    election.namespace_name = settings_.lease_namespace;
    election.name = settings_.lease_name;
    election.identity = settings_.identity;
    election.lease_duration = settings_.lease_duration;
    election.renew_deadline = settings_.renew_deadline;
    election.retry_period = settings_.retry_period;
    election.on_started_leading = [this] {
        registry_.set_leader(true);
        runner_->notify();
    };
    election.on_stopped_leading = [this] {
        registry_.set_leader(false);
        runner_->notify();
    };
    elector_.emplace(io, *lease_client_, std::move(election));
    gated_provider_.emplace(provider_, [this] { return elector_->leading(); });
    runner_.emplace(
        io, relay_, [this] { return elector_->leading(); },
        [this] { return make_executor(*gated_provider_); });
}

std::unique_ptr<executor> cluster_controller::make_executor(providers::provider& provider) {
    return std::make_unique<executor>(io_, provider, store_, clock_, executor_settings_, observer_);
}

asio::awaitable<void> cluster_controller::run() {
    if (!settings_.leader_elect) {
        co_await (store_.run(*executor_) && executor_->run());
        co_return;
    }
    co_await (store_.run(relay_) && elector_->run() && run_terms());
}

// Stops the elector only after the last term's executor has finished, so the
// Lease is released only when nothing of this replica acts any more.
asio::awaitable<void> cluster_controller::run_terms() {
    co_await runner_->run();
    elector_->stop();
}

void cluster_controller::stop() {
    store_.stop();
    if (executor_) {
        executor_->stop();
    }
    if (runner_) {
        runner_->stop();
    }
}

bool cluster_controller::ready() const {
    if (executor_) {
        return executor_->ready();
    }
    return runner_->ready();
}

}  // namespace podsession::controller::kubernetes

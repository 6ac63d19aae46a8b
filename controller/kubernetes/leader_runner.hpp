#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "controller/executor.hpp"
#include "controller/session_store.hpp"
#include "providers/provider.hpp"

namespace podsession::controller::kubernetes {

// Keeps every session a store delivered and forwards them to the executor of
// the current leadership term, replaying them all when a term starts. So a
// follower keeps watching, and takes over with a warm cache.
class session_relay final : public session_sink {
  public:
    void upsert(declared_session session) override;
    void forget(const std::string& key) override;
    void mark_synced() override;

    // Sends every session kept (and the sync, if it happened) to `target`, then
    // forwards what comes next until `detach`.
    void attach(session_sink& target);
    void detach() { target_ = nullptr; }

    [[nodiscard]] bool synced() const noexcept { return synced_; }

  private:
    std::map<std::string, declared_session, std::less<>> sessions_;
    session_sink* target_ = nullptr;
    bool synced_ = false;
};

// A provider that rejects creates and terminates while `may_act` is false, so
// that an executor still finishing its term after the lease was lost cannot
// start another mutating call. Lists and reads pass through.
class leader_gated_provider final : public providers::provider {
  public:
    leader_gated_provider(providers::provider& inner, std::function<bool()> may_act)
        : inner_{inner}, may_act_{std::move(may_act)} {}

    boost::asio::awaitable<providers::result<crd::observed_pod>> create_pod(
        const providers::create_pod_request& request) override;
    boost::asio::awaitable<providers::result<std::vector<crd::observed_pod>>> list_pods() override {
        return inner_.list_pods();
    }
    boost::asio::awaitable<providers::result<crd::observed_pod>> get_pod(
        std::string_view pod_id) override {
        return inner_.get_pod(pod_id);
    }
    boost::asio::awaitable<providers::result<void>> terminate_pod(std::string_view pod_id) override;
    bool lists_env() const noexcept override { return inner_.lists_env(); }

  private:
    providers::provider& inner_;
    std::function<bool()> may_act_;
};

// Runs one executor per leadership term and none in between: a term's
// executor is made when leadership starts, stopped as soon as it ends, and
// destroyed once its last action has finished, before the next term's starts.
class leader_runner {
  public:
    using executor_factory = std::function<std::unique_ptr<executor>()>;

    leader_runner(boost::asio::any_io_executor io, session_relay& relay,
                  std::function<bool()> leading, executor_factory make_executor);

    [[nodiscard]] boost::asio::awaitable<void> run();

    // Leadership changed; called from the elector's callbacks.
    void notify();
    void stop();

    // The store has synced, and the term's executor, if any, is ready.
    [[nodiscard]] bool ready() const;

  private:
    [[nodiscard]] boost::asio::awaitable<void> wait_for_change();

    boost::asio::any_io_executor io_;
    session_relay& relay_;
    std::function<bool()> leading_;
    executor_factory make_executor_;
    executor* current_ = nullptr;
    boost::asio::steady_timer signal_;
    bool changed_ = false;
    bool stopped_ = false;
};

}  // namespace podsession::controller::kubernetes

#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/clock.hpp"
#include "controller/session_store.hpp"
#include "providers/provider.hpp"

#include <boost/system/errc.hpp>

namespace podsession::controller::testing {

// A provider that keeps pods in memory, records every call in order and lets a
// test script the next answers of each operation.
class fake_provider final : public providers::provider {
  public:
    fake_provider(controller::clock& clock, std::vector<std::string>& journal)
        : journal_{journal}, clock_{clock} {}

    boost::asio::awaitable<providers::result<crd::observed_pod>> create_pod(
        const providers::create_pod_request& request) override {
        calls.push_back("create " + request.gpu_type_id);
        journal_.push_back(calls.back());
        requests.push_back(request);
        if (auto scripted = next(create_errors)) {
            if (scripted->is(providers::errc::unknown_outcome) &&
                create_anyway_on_unknown_outcome) {
                add_pod(request);
            }
            co_return *scripted;
        }
        co_return add_pod(request);
    }

    boost::asio::awaitable<providers::result<std::vector<crd::observed_pod>>> list_pods() override {
        calls.push_back("list");
        journal_.push_back(calls.back());
        if (auto scripted = next(list_errors)) {
            co_return *scripted;
        }
        std::vector<crd::observed_pod> listed;
        for (const auto& [id, pod] : pods) {
            if (!hidden_from_list.contains(id)) {
                listed.push_back(pod);
            }
        }
        co_return listed;
    }

    boost::asio::awaitable<providers::result<crd::observed_pod>> get_pod(
        std::string_view pod_id) override {
        calls.push_back("get " + std::string{pod_id});
        journal_.push_back(calls.back());
        if (auto scripted = next(get_errors)) {
            co_return *scripted;
        }
        const auto found = pods.find(std::string{pod_id});
        if (found == pods.end()) {
            co_return error(providers::errc::not_found, 404);
        }
        co_return found->second;
    }

    boost::asio::awaitable<providers::result<void>> terminate_pod(
        std::string_view pod_id) override {
        calls.push_back("terminate " + std::string{pod_id});
        journal_.push_back(calls.back());
        if (auto scripted = next(terminate_errors)) {
            co_return *scripted;
        }
        if (ignore_terminates > 0) {
            --ignore_terminates;
            co_return providers::result<void>{};
        }
        if (pods.erase(std::string{pod_id}) == 0) {
            co_return error(providers::errc::not_found, 404);
        }
        co_return providers::result<void>{};
    }

    bool lists_env() const noexcept override { return true; }

    crd::observed_pod add_pod(const providers::create_pod_request& request) {
        crd::observed_pod pod;
        pod.id = "pod" + std::to_string(++created);
        pod.name = request.name;
        pod.status = crd::pod_status::provisioning;
        pod.gpu_type = request.gpu_type_id;
        pod.gpu_count = request.gpu_count;
        pod.cost_per_hour = 1.5;
        pod.created_at = clock_.now();
        for (const auto& [name, value] : request.env) {
            if (name == "PODSESSION_UID") {
                pod.session_uid = value;
            }
        }
        pods[pod.id] = pod;
        return pod;
    }

    void set_status(const std::string& id, crd::pod_status status) {
        pods.at(id).status = status;
        if (status == crd::pod_status::running) {
            pods.at(id).started_at = clock_.now();
        }
    }

    std::size_t count(std::string_view prefix) const {
        return static_cast<std::size_t>(std::ranges::count_if(
            calls, [&](const std::string& call) { return call.starts_with(prefix); }));
    }

    static providers::provider_error error(providers::errc code, int status = 0) {
        providers::provider_error scripted;
        scripted.code = make_error_code(code);
        scripted.message = "scripted " + scripted.code.message();
        scripted.http_status = status;
        return scripted;
    }

    std::map<std::string, crd::observed_pod> pods;
    std::set<std::string> hidden_from_list;
    std::vector<std::string> calls;
    std::vector<providers::create_pod_request> requests;
    std::deque<providers::provider_error> create_errors;
    std::deque<providers::provider_error> list_errors;
    std::deque<providers::provider_error> get_errors;
    std::deque<providers::provider_error> terminate_errors;
    // Terminates answered with success that leave the pod in place.
    int ignore_terminates = 0;
    // An unknown-outcome create still makes the pod, as RunPod sometimes does.
    bool create_anyway_on_unknown_outcome = false;

  private:
    static std::optional<providers::provider_error> next(
        std::deque<providers::provider_error>& queue) {
        if (queue.empty()) {
            return std::nullopt;
        }
        auto front = queue.front();
        queue.pop_front();
        return front;
    }

    std::vector<std::string>& journal_;
    controller::clock& clock_;
    int created = 0;
};

// A store that keeps everything in memory and records what was written.
class fake_store final : public session_store {
  public:
    explicit fake_store(std::vector<std::string>& journal) : journal_{journal} {}

    boost::asio::awaitable<void> run(session_sink& sink) override {
        sink_ = &sink;
        sink.mark_synced();
        co_return;
    }
    void stop() override {}

    boost::asio::awaitable<boost::system::error_code> write_status(
        const crd::object_meta& metadata, const crd::pod_session_status& status) override {
        events.push_back("status " + std::string{crd::to_string(status.phase)});
        journal_.push_back(events.back());
        if (fail_status_writes > 0) {
            --fail_status_writes;
            co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
        }
        statuses[crd::session_key(metadata)] = status;
        co_return boost::system::error_code{};
    }

    boost::asio::awaitable<boost::system::result<auth::session_token>> ensure_token(
        const crd::object_meta& metadata) override {
        events.push_back("token");
        journal_.push_back(events.back());
        auto& token = tokens[crd::session_key(metadata)];
        if (token.empty()) {
            token = "token-for-" + metadata.name;
        }
        co_return auth::session_token{token};
    }

    boost::asio::awaitable<boost::system::error_code> prepare_create(
        const crd::object_meta&) override {
        events.push_back("prepare");
        journal_.push_back(events.back());
        co_return boost::system::error_code{};
    }

    boost::asio::awaitable<boost::system::error_code> release(
        const crd::object_meta& metadata) override {
        events.push_back("release " + crd::session_key(metadata));
        journal_.push_back(events.back());
        released.push_back(crd::session_key(metadata));
        co_return boost::system::error_code{};
    }

    bool may_adopt_uid(const crd::object_meta& metadata) const override {
        return adoptable.contains(crd::session_key(metadata));
    }

    bool adopt_uid(const crd::object_meta& metadata, const std::string& uid) override {
        if (!may_adopt_uid(metadata)) {
            return false;
        }
        events.push_back("adopt uid " + uid);
        journal_.push_back(events.back());
        adoptable.erase(crd::session_key(metadata));
        adopted_uids[crd::session_key(metadata)] = uid;
        if (on_adopt) {
            on_adopt(metadata, uid);
        }
        return true;
    }

    boost::asio::awaitable<void> refresh(const crd::object_meta& metadata) override {
        events.push_back("refresh " + crd::session_key(metadata));
        journal_.push_back(events.back());
        if (on_refresh) {
            on_refresh(metadata);
        }
        co_return;
    }

    void record_event(const crd::object_meta&, const reconcile::note& item) override {
        notes.push_back(item.reason);
    }

    void describe_token(const crd::object_meta& metadata,
                        crd::pod_session_status& status) const override {
        status.token_file = "/tokens/" + metadata.name;
    }

    std::map<std::string, crd::pod_session_status> statuses;
    std::map<std::string, std::string> tokens;
    std::vector<std::string> events;
    std::vector<std::string> notes;
    std::vector<std::string> released;
    int fail_status_writes = 0;
    // Sessions whose UID the store made up while their token is stored.
    std::set<std::string> adoptable;
    std::map<std::string, std::string> adopted_uids;
    // Called by adopt_uid, as the directory store hands the session again.
    std::function<void(const crd::object_meta&, const std::string&)> on_adopt;
    // Called by refresh, as a source that has a change the controller missed.
    std::function<void(const crd::object_meta&)> on_refresh;

  private:
    std::vector<std::string>& journal_;
    session_sink* sink_ = nullptr;
};

}  // namespace podsession::controller::testing

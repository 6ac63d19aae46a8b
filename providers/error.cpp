#include "providers/error.hpp"

#include <string>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace podsession::providers {

namespace {

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "podsession.provider"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::unauthorized:
                return "unauthorized: the API key is missing or invalid";
            case errc::forbidden:
                return "forbidden: the API key lacks a permission";
            case errc::payment_required:
                return "payment required: the account balance is exhausted";
            case errc::not_found:
                return "not found";
            case errc::conflict:
                return "conflict: the action is invalid for the pod's status";
            case errc::invalid_request:
                return "invalid request";
            case errc::capacity:
                return "no capacity for this GPU type";
            case errc::rate_limited:
                return "rate limited";
            case errc::transient:
                return "transient failure";
            case errc::unknown_outcome:
                return "outcome unknown: the pod may have been created";
        }
        return "unknown provider error";
    }
};

}  // namespace

const boost::system::error_category& provider_category() noexcept {
    static const category instance;
    return instance;
}

void throw_exception_from_error(const provider_error& error,
                                const boost::source_location& location) {
    boost::throw_exception(boost::system::system_error{error.code, error.message}, location);
}

}  // namespace podsession::providers

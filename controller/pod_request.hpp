#pragma once

#include <string>
#include <string_view>

#include "auth/token.hpp"
#include "crd/pod_session.hpp"
#include "providers/provider.hpp"

namespace podsession::controller {

// Builds the create request for one GPU type: the spec's container settings,
// the spec's env, then `PODSESSION_NAMESPACE`, `PODSESSION_NAME`,
// `PODSESSION_UID` and the token as `ATLAS_PRESHARED_KEY` (bearer) or
// `ATLAS_SIGNING_SECRET` (signedUrl). Validation has rejected reserved names in
// the spec, so nothing the user writes can replace the token.
[[nodiscard]] providers::create_pod_request make_create_request(const crd::pod_session& session,
                                                                std::string_view pod_name,
                                                                std::string_view gpu_type,
                                                                const auth::session_token& token);

}  // namespace podsession::controller

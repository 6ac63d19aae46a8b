#pragma once

#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "crd/time.hpp"

namespace podsession::controller {

struct touch_edit {
    std::string text;
    // Set when the document was written again by the YAML emitter because its
    // metadata or annotations use flow style; its comments are then lost.
    bool reformatted = false;
};

// Sets `metadata.annotations["podsession.io/last-touched"]` of the PodSession
// `namespace_name/name` in a multi-document YAML file to `when`, changing only
// that line (or adding it) where the mapping is in block style. Fails with
// `errc::no_such_file_or_directory` when no document declares the session, and
// with `errc::invalid_argument` when its metadata cannot be edited safely (for
// example, annotations that are not a mapping).
[[nodiscard]] boost::system::result<touch_edit> touch_session_text(std::string_view text,
                                                                   std::string_view namespace_name,
                                                                   std::string_view name, crd::timestamp when);

}  // namespace podsession::controller

#pragma once
// Dropping root to the store's owner before scepctl touches the store.

#include <string>

#include "core/error.hpp"

namespace scepctl {

/// Run as root on a store that another user owns, scepctl becomes that user
/// before it touches the store, so that nothing it creates (a revoked/
/// directory, a secret, a re-created audit.log) ends up owned by root and
/// unreadable or unwritable for the server. Does nothing when not root, when
/// the store does not exist yet (it is created as root) or when root owns it.
///
/// The switch is `sudo -u OWNER`: the owner's primary group and supplementary
/// groups; an owner without a passwd entry gets the store directory's group
/// (never root's) and no supplementary groups. It is for good: real, effective
/// and saved ids all change, and it is checked that root cannot be regained.
/// On failure nothing has run as root beyond this check, and the error says to
/// run as the owner.
core::Result<void> become_store_owner(const std::string& store);

}  // namespace scepctl

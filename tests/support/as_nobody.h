// Root passes every permission check, so a test of what happens when a file or folder cannot be
// written means nothing as root, and would always skip on a machine set up as root (CI containers,
// the README's fresh Debian). Such a test calls rerun_as_nobody() when it finds itself root: the
// same test runs again in a fresh process as `nobody` (uid and gid 65534) and must pass there.
#pragma once

namespace hs::test {

// Runs the current test in a child process as nobody and fails the current test unless the child
// passes. The test binary is copied to a temp folder first, so the checkout may sit where nobody
// cannot go (/root). The child's output appears in this test's output.
void rerun_as_nobody();

}  // namespace hs::test

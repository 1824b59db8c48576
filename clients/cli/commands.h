// The registry of subcommands. Each `add_*_command` declares its options on a new subcommand of
// `app` and sets a callback that runs it (errors propagate as exceptions to main).
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace hs::cli {

using AddCommand = std::function<void(CLI::App&)>;

// Every subcommand, in the order `heartstream --help` lists them.
std::vector<AddCommand> all_commands();

}  // namespace hs::cli

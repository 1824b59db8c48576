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

void add_tokenize_command(CLI::App& app);  // tokenize_command.cpp
void add_generate_command(CLI::App& app);  // generate_command.cpp
void add_decode_command(CLI::App& app);  // decode_command.cpp
void add_make_demo_model_command(CLI::App& app);  // make_demo_model_command.cpp
void add_stream_command(CLI::App& app);  // stream_command.cpp
void add_play_command(CLI::App& app);    // stream_command.cpp
void add_soak_command(CLI::App& app);    // soak_command.cpp
void add_loadtest_command(CLI::App& app);  // loadtest_command.cpp
void add_quantize_command(CLI::App& app);   // quantize_command.cpp
void add_benchmark_command(CLI::App& app);  // benchmark_command.cpp
void add_quality_command(CLI::App& app);  // quality_command.cpp

}  // namespace hs::cli

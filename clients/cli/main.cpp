// heartstream: the command-line client. Each subcommand lives in its own file and registers
// itself here.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "clients/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"heartstream: real-time music generation (HeartMuLa + HeartCodec)"};
  app.require_subcommand(1);
  app.set_version_flag("--version-info", "heartstream 0.1.0");
  for (const auto& add : hs::cli::all_commands()) add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "heartstream: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

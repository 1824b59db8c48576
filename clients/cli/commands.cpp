#include "clients/cli/commands.h"

namespace hs::cli {

std::vector<AddCommand> all_commands() {
  return {};
}

}  // namespace hs::cli

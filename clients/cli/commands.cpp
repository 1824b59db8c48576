#include "clients/cli/commands.h"

namespace hs::cli {

std::vector<AddCommand> all_commands() {
  return {
      add_tokenize_command,
      add_generate_command,
      add_decode_command,
      add_make_demo_model_command,
      add_stream_command,
      add_play_command,
      add_soak_command,
      add_loadtest_command,
      add_quantize_command,
      add_benchmark_command,
      add_quality_command,
  };
}

}  // namespace hs::cli

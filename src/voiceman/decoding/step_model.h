#pragma once
// What the search algorithms need from a decoder, and nothing more. The Whisper model
// implements it; unit tests implement it with hand-made logits.
#include <cstdint>
#include <span>
#include <vector>

namespace voiceman::decoding {

class StepModel {
 public:
  virtual ~StepModel() = default;

  virtual int vocab_size() const = 0;

  // Starts one row per prompt. Row i attends to encoder window source[i]. Runs every
  // prompt token and writes the logits of each prompt's last position to
  // last_logits [prompts.size() x vocab]. Where sot_index[i] >= 0, the logits at that
  // prompt position go to sot_logits [prompts.size() x vocab] (for no-speech probability);
  // rows with sot_index < 0 leave their sot_logits row untouched.
  virtual void start(const std::vector<std::vector<int32_t>>& prompts,
                     std::span<const int32_t> source, std::span<const int32_t> sot_index,
                     std::vector<float>& last_logits, std::vector<float>& sot_logits) = 0;

  // Rebuilds the live row set: new row r continues old row src[r] (its whole history and
  // cache). Used for beam reordering, expanding a prompt row into beams, and dropping
  // finished rows. src may repeat rows and may be shorter than the current row count.
  virtual void select_rows(std::span<const int32_t> src) = 0;

  // Feeds one new token to every live row and returns logits [rows x vocab]. The model
  // owns that memory (a CPU tensor read in place, a GPU's pinned download buffer); it
  // stays valid until the model's next call.
  virtual std::span<const float> step(std::span<const int32_t> tokens) = 0;

  virtual int rows() const = 0;
};

}  // namespace voiceman::decoding

#include <chrono>
#include <iostream>
#include <thread>

#include "voiceman/asr/transcriber.h"
#include "voiceman/audio/decode.h"
#include "voiceman/cli/cli.h"
#include "voiceman/cli/commands.h"
#include "voiceman/cli/defaults.h"
#include "voiceman/cli/numbers.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/pipeline/run_setup.h"
#include "voiceman/writers/json_writer.h"

namespace voiceman::cli {

CLI::App* add_transcribe_command(CLI::App& app, TranscribeArgs& args) {
  auto& o = args.options;
  CLI::App* cmd =
      app.add_subcommand("transcribe", "Transcribe one recording and print its segments");
  cmd->add_option("FILE", args.file, "Audio or video file")->required();
  cmd->add_option("--model", args.model_dir,
                  "CTranslate2 Whisper model folder (default: models/tiny.en, fetched by "
                  "scripts/fetch-models.sh)");
  cmd->add_option("--compute-type", args.compute_type,
                  "float32, int8, int8_bfloat16, float16 or bfloat16 (GPU; int8 on the CPU), or "
                  "auto (GPU float16; CPU int8_bfloat16 where the CPU has bf16, else int8)")
      ->capture_default_str();
  cmd->add_flag("--int8-cross-kv", args.int8_cross_kv,
                "Keep the decoder's cross-attention keys and values as int8 (less memory "
                "and memory traffic per step; results change slightly)");
  cmd->add_option("--device", args.device, "auto, cpu or cuda (no GPU: falls back to the CPU)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", args.threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--language", o.language, "Language code (default: detect)");
  cmd->add_option("--task", o.task, "transcribe or translate")->capture_default_str();
  cmd->add_option("--beam-size", o.beam_size, "Beam size (1 = greedy)")->capture_default_str();
  cmd->add_option("--best-of", o.best_of, "Samples per window when sampling")
      ->capture_default_str();
  cmd->add_option("--patience", o.patience, "Beam search patience")->capture_default_str();
  cmd->add_option("--length-penalty", o.length_penalty, "Length penalty exponent")
      ->capture_default_str();
  cmd->add_option(
      "--temperature", args.temperatures,
      "Comma-separated fallback temperatures (default 0,0.2,0.4,0.6,0.8,1; '0' = no fallback)");
  cmd->add_flag("--no-condition-on-previous-text", args.no_condition,
                "Do not prompt each window with the previous text");
  cmd->add_option("--initial-prompt", o.initial_prompt, "Text that conditions the first window");
  cmd->add_option("--hotwords", o.hotwords, "Hint phrases for the decoder");
  cmd->add_flag("--word-timestamps", o.word_timestamps, "Word start/end times by DTW alignment");
  cmd->add_flag("--without-timestamps", o.without_timestamps, "Text only, no timestamp tokens");
  cmd->add_option("--batch-windows", o.batch_windows, "30 s windows decoded together")
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "Print the structured result as JSON");
  return cmd;
}

int run_transcribe(const TranscribeArgs& args) {
  TranscribeArgs a = args;
  if (a.model_dir.empty()) a.model_dir = default_model_dir().string();
  if (!a.temperatures.empty())
    a.options.temperatures = parse_floats(a.temperatures, "--temperature");
  a.options.condition_on_previous_text = !a.no_condition;
  asr::validate(a.options);
  ExecContext ctx;
  ctx.device = pipeline::select_device(a.device);
  ctx.threads = a.threads > 0 ? a.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto model = models::WhisperModel::load(
      a.model_dir, pipeline::select_compute_type(a.compute_type, ctx.device), ctx.device,
      {.int8_cross_kv = a.int8_cross_kv});
  auto tok = tokenizer::Tokenizer::load(a.model_dir);
  const asr::Transcriber transcriber(model, std::move(tok), ctx);
  const auto t1 = clock::now();
  audio::Audio audio;
  try {
    audio = audio::decode_file(a.file);
  } catch (const MediaError& e) {
    log::error(e.what());
    return kExitSomeFailed;  // its one input failed, which is not an aborted command
  }
  const auto t2 = clock::now();
  const Transcript result = transcriber.transcribe(audio.samples, a.options);
  const auto t3 = clock::now();
  const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  log::debug("model load ", secs(t1 - t0), " s, decode ", secs(t2 - t1), " s, transcribe ",
             secs(t3 - t2), " s for ", audio.duration_s(), " s of audio");
  if (a.json) {
    std::cout << writers::to_json(result).dump(2) << "\n";
  } else {
    for (const Segment& s : result.segments)
      std::cout << "[" << writers::format_timestamp(s.start) << " --> "
                << writers::format_timestamp(s.end) << "]" << s.text << "\n";
  }
  return kExitOk;
}

}  // namespace voiceman::cli

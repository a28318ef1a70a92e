#include "voiceman/pipeline/run_setup.h"

#include <thread>
#include <utility>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/core/version.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/features/window_features.h"
#include "voiceman/tokenizer/tokenizer.h"
#include "voiceman/writers/atomic_file.h"

namespace voiceman::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSettingsKey = "settings";

// Settings that change what a transcript says. A resumed run must share them, or OUT
// would mix transcripts made in different ways under one manifest.
nlohmann::json resume_settings(const RunOptions& options, const manifest::ModelIdentity& model) {
  return {{"tool_version", kVersion},
          {"tool_commit", kGitCommit},
          {"model_sha256", model.sha256},
          {"transcript", transcript_settings(options)}};
}

// Joins the job as HOST:OUT. Every worker must see the same recordings (relative paths
// and sizes) and transcribe them the same way (resume_settings).
std::unique_ptr<distribute::JobBoard> join_job(const RunOptions& options, const RunSetup& s,
                                               const manifest::ModelIdentity& model) {
  std::string inputs;
  for (const DiscoveredInput& in : s.discovery.inputs)
    inputs += in.relative_path + '\t' + std::to_string(in.size) + '\n';
  for (const DiscoveryFailure& f : s.discovery.failures) inputs += f.relative_path + "\t-\n";
  const std::string worker = manifest::worker_name(manifest::current_host(), s.out_dir.string());
  try {
    auto job = std::make_unique<distribute::JobBoard>(
        options.job, worker, manifest::sha256_hex(inputs),
        manifest::sha256_hex(resume_settings(options, model).dump()),
        static_cast<int>(s.discovery.inputs.size() + s.discovery.failures.size()));
    log::info("joined job ", options.job.name, " on ", job->url(), " as ", worker);
    return job;
  } catch (const IoError& e) {
    throw ConfigError(std::string("--job ") + options.job.name + ": " + e.what());
  }
}

std::string differing_keys(const nlohmann::json& was, const nlohmann::json& now) {
  const nlohmann::json a = was.flatten(), b = now.flatten();
  std::string keys;
  for (const auto& [key, value] : b.items())
    if (!a.contains(key) || a[key] != value) keys += (keys.empty() ? "" : ", ") + key;
  for (const auto& [key, value] : a.items())
    if (!b.contains(key)) keys += (keys.empty() ? "" : ", ") + key;
  return keys;
}

void check_resume(journal::Journal& journal, const RunOptions& options,
                  const nlohmann::json& settings, const fs::path& out_dir) {
  const std::string now = settings.dump();
  if (!options.resume) {
    journal.clear();
  } else if (const auto was = journal.meta(kSettingsKey);
             was && *was != now && !journal.load().empty()) {
    const nlohmann::json old = nlohmann::json::parse(*was, nullptr, false);
    throw ConfigError(
        out_dir.string() + " holds transcripts made with other settings (" +
        (old.is_discarded() ? std::string("unreadable") : differing_keys(old, settings)) +
        "); use the same options, a new OUT, or --no-resume to transcribe again");
  }
  journal.set_meta(kSettingsKey, now);
}

// Outputs are named by relative path: a recording of this run under the name of another
// original whose transcripts OUT holds would replace them, and the manifest would lose
// the other's record.
void check_same_originals(const std::map<std::string, manifest::InputRecord>& previous,
                          const Discovery& d, const fs::path& out_dir) {
  std::map<std::string, const manifest::InputRecord*> by_name;
  for (const auto& [path, r] : previous)
    if (!r.outputs.empty()) by_name.emplace(r.relative_path, &r);
  for (const DiscoveredInput& in : d.inputs) {
    const auto it = by_name.find(in.relative_path);
    if (it == by_name.end() || it->second->path == in.path) continue;
    // The same file reached by another path (a symlink), or the folder moved or remounted
    // with the file's size unchanged: resume's digest check decides.
    std::error_code ec;
    const fs::path was = it->second->path;
    if (fs::equivalent(was, in.path, ec)) continue;
    if (!fs::exists(was, ec) && !ec && it->second->before && it->second->before->size == in.size)
      continue;
    throw ConfigError(out_dir.string() + " holds the transcripts of " + it->second->path +
                      ", which " + in.path + " would replace (the same name, " + in.relative_path +
                      "); use a new OUT for other recordings, or " +
                      "--no-resume to start this one over");
  }
}

}  // namespace

DeviceChoice choose_devices(const std::string& requested, cuda::GpuProbe probe) {
  DeviceChoice c;
  c.devices = {Device::cpu()};
  c.probe = std::move(probe);
  if (requested == "cpu") return c;
  if (!(c.probe.built_with_cuda && c.probe.available)) {
    if (requested == "auto")
      log::info("GPU not available, using CPU fallback (", c.probe.reason, ")");
    else
      log::warn("GPU not available, using CPU fallback (", c.probe.reason, ")");
    return c;
  }
  log::info(c.probe.summary());
  const std::vector<const cuda::GpuInfo*> usable = c.probe.usable();
  c.devices.clear();
  if (requested == "auto" || requested == "cuda") {
    c.devices = {Device::cuda(usable.front()->index)};
  } else if (requested == "cuda:all") {
    for (const cuda::GpuInfo* info : usable) c.devices.push_back(Device::cuda(info->index));
    for (const cuda::GpuInfo& d : c.probe.devices)
      if (!d.unusable.empty())
        log::warn("--device cuda:all leaves out cuda:", d.index, " ", d.name, " (", d.unusable,
                  ")");
  } else {
    const int index = std::stoi(requested.substr(5));
    const cuda::GpuInfo* info = c.probe.find(index);
    std::string can_run;
    for (const cuda::GpuInfo* u : usable)
      can_run += (can_run.empty() ? "" : ", ") + Device::cuda(u->index).str();
    if (!info)
      throw ConfigError("--device " + requested +
                        ": no such GPU on this machine; usable: " + can_run);
    if (!info->unusable.empty())
      throw ConfigError("--device " + requested + ": " + info->name + " has " + info->unusable +
                        "; usable: " + can_run);
    c.devices = {Device::cuda(index)};
  }
  return c;
}

DeviceChoice select_devices(const std::string& requested) {
  return choose_devices(requested, requested == "cpu" ? cuda::GpuProbe{} : cuda::probe_gpus());
}

bool room_for_two_engines(const RunOptions& options, const models::WhisperConfig& config,
                          size_t activation_bytes, size_t matrix_bytes, const cuda::GpuProbe& probe,
                          const std::vector<Device>& devices) {
  const uint64_t weights = models::estimated_weight_bytes(config, matrix_bytes, activation_bytes);
  const uint64_t engine = models::estimated_engine_bytes(
      config, activation_bytes, effective_batch_options(options, true).initial,
      rows_per_window(options), options.int8_cross_kv);
  for (const Device device : devices) {
    const cuda::GpuInfo* info = probe.find(device.index);
    if (!info || !gpu_room_for_two_engines(weights, engine, info->memory_free)) {
      log::info("one engine per GPU: two would need about ", (weights + 2 * engine) >> 20,
                " MiB with the weights, over 80% of the ", info ? info->memory_free >> 20 : 0,
                " MiB ", info && info->integrated ? "available" : "free", " on ", device.str());
      return false;
    }
  }
  return true;
}

Device select_device(const std::string& requested) {
  return select_devices(requested).devices.front();
}

nlohmann::ordered_json gpu_record(const cuda::GpuProbe& probe, const std::vector<Device>& devices) {
  nlohmann::ordered_json used = nlohmann::ordered_json::array();
  for (Device d : devices) {
    const cuda::GpuInfo* info = d.is_cpu() ? nullptr : probe.find(d.index);
    if (!info) continue;
    used.push_back({{"device", d.str()},
                    {"name", info->name},
                    {"compute_capability", std::to_string(info->compute_major) + "." +
                                               std::to_string(info->compute_minor)},
                    {"memory_total_mb", info->memory_total >> 20},
                    {"pci_bus_id", info->pci_bus_id}});
    if (info->integrated) used.back()["unified_memory"] = true;  // the system's memory
  }
  return {{"devices", std::move(used)},
          {"nvidia_driver", probe.nvml_driver},
          {"cuda_driver_api", cuda::cuda_version(probe.driver_version)},
          {"cuda_runtime", cuda::cuda_version(probe.runtime_version)},
          {"cublas", probe.blas_version},
          {"cublas_path", probe.blas_path}};
}

models::ComputeType select_compute_type(const std::string& requested, Device device) {
  // auto: half precision on a GPU, int8 (with bf16 attention where native) on the CPU.
  if (requested == "auto")
    return device.is_cpu() ? models::best_cpu_compute_type() : models::ComputeType::float16;
  const models::ComputeType compute = models::parse_compute_type(requested);
  // The CPU has no half-precision kernels.
  if (device.is_cpu() &&
      (compute == models::ComputeType::float16 || compute == models::ComputeType::bfloat16)) {
    log::warn("compute type ", requested, " needs a GPU; using int8 on the CPU");
    return models::ComputeType::int8;
  }
  return compute;
}

RunSetup prepare_run(const RunOptions& options) {
  validate(options);
  RunSetup s;
  s.discovery = discover(options.inputs, options.follow_symlinks);
  s.out_dir = fs::absolute(options.out_dir).lexically_normal();
  if (s.out_dir.filename().empty()) s.out_dir = s.out_dir.parent_path();
  check_out_dir(s.out_dir, s.discovery);
  log::info("found ", s.discovery.inputs.size() + s.discovery.failures.size(), " recordings (",
            s.discovery.skipped.size(), " other paths skipped)");

  const manifest::ModelIdentity model_id = manifest::identify_model(options.model_dir);
  s.journal = std::make_unique<journal::Journal>(s.out_dir);
  check_resume(*s.journal, options, resume_settings(options, model_id), s.out_dir);
  if (const int swept = writers::remove_stale_temp_files(s.out_dir); swept > 0)
    log::info("removed ", swept, " partial file(s) left by an interrupted run");
  s.previous = s.journal->load();
  check_same_originals(s.previous, s.discovery, s.out_dir);
  if (!options.job.redis_url.empty()) s.job = join_job(options, s, model_id);

  ExecContext ctx;
  DeviceChoice choice = select_devices(options.device);
  s.devices = choice.devices;
  s.gpu_probe = std::move(choice.probe);
  ctx.device = s.devices.front();
  ctx.threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The decoder keeps its buffers in place for graphs, which costs the CPU a little.
  ctx.cuda_graphs = options.cuda_graphs && !ctx.device.is_cpu();
  const models::ComputeType compute = select_compute_type(options.compute_type, ctx.device);
  for (Device device : s.devices)
    s.models.push_back(models::WhisperModel::load(options.model_dir, compute, device,
                                                  {.int8_cross_kv = options.int8_cross_kv}));
  const auto model = s.models.front();
  s.model = model;
  s.ctx = ctx;
  s.transcriber =
      std::make_unique<asr::Transcriber>(model, tokenizer::Tokenizer::load(options.model_dir), ctx);

  manifest::Manifest& m = s.manifest;
  m.tool_version = kVersion;
  m.tool_commit = kGitCommit;
  m.model = model_id;
  m.options = to_json(options);
  std::string devices;
  for (Device device : s.devices) devices += (devices.empty() ? "" : ",") + device.str();
  m.options["device_effective"] = devices;
  // A GPU was asked for and the CPU ran: the record says why (no driver, too old, ...).
  if (options.device != "cpu" && ctx.device.is_cpu())
    m.options["device_fallback"] = s.gpu_probe.reason;
  m.options["threads_effective"] = ctx.threads;
  const bool gpu = !ctx.device.is_cpu();
  const bool room_for_two =
      gpu && options.engines_per_device == 0 && options.mode == RunMode::batched &&
      room_for_two_engines(options, model->config(), dtype_size(model->dtype()),
                           models::is_int8(compute) ? 1 : dtype_size(model->dtype()), s.gpu_probe,
                           s.devices);
  s.engines_per_device = effective_engines_per_device(options, gpu, ctx.threads, room_for_two);
  m.options["engines_per_device_effective"] = s.engines_per_device;
  m.options["cuda_graphs_effective"] = ctx.cuda_graphs;
  m.options["compute_type_effective"] = models::compute_type_name(compute);
  if (options.mode == RunMode::batched) {
    const scheduler::BatchSizeOptions b = effective_batch_options(options, !ctx.device.is_cpu());
    m.options["batch_effective"] = {{"initial", b.initial}, {"max", b.max}};
  }
  // int8 quantises activations per row, so the least float difference between GEMM
  // libraries flips roundings and can change words: the record says which one ran.
  if (ctx.device.is_cpu()) {
    m.options["cpu_gemm_library"] = primitives::cpu::gemm_library();
    if (models::is_int8(compute))
      m.options["cpu_int8_gemm_library"] = primitives::cpu::int8_gemm_library();
  }
  if (!ctx.device.is_cpu()) {
    // Half-precision results depend on the card and cuBLAS as well: the record names them.
    m.options["gpu_effective"] = gpu_record(s.gpu_probe, s.devices);
    // And on the features: a half-precision model's DFT is taken in float (features/mel.h).
    m.options["log_mel_spectrum_effective"] =
        features::spectrum_precision_for(model->dtype()) == features::SpectrumPrecision::float32
            ? "float32"
            : "float64";
  }
  if (options.diarize) {
    // Only where the run already accepted bf16 or half arithmetic: int8 and float32 keep
    // the same results on every x86 CPU.
    s.diarize_bf16 =
        (compute == models::ComputeType::int8_bfloat16 ||
         compute == models::ComputeType::bfloat16 || compute == models::ComputeType::float16) &&
        ops::bf16_supported();
    m.options["diarization_lstm_products"] = s.diarize_bf16 ? "bfloat16" : "float32";
  }
  m.host = manifest::current_host();
  m.out_dir = s.out_dir.string();
  m.started_utc = manifest::utc_now();
  m.skipped = s.discovery.skipped;
  return s;
}

}  // namespace voiceman::pipeline

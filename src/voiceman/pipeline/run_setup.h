#pragma once
// Everything a run needs before its first file: the inputs, a locked OUT with its resume
// journal, the loaded model and the manifest header. Checks that concern the whole run
// (options, OUT placement, model, changed settings on resume) fail here, before any
// original is read.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "voiceman/asr/transcriber.h"
#include "voiceman/distribute/job_board.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/models/whisper_config.h"
#include "voiceman/journal/journal.h"
#include "voiceman/manifest/manifest.h"
#include "voiceman/pipeline/discovery.h"
#include "voiceman/pipeline/run_options.h"

namespace voiceman::pipeline {

struct RunSetup {
  Discovery discovery;
  std::filesystem::path out_dir;  // absolute
  std::unique_ptr<journal::Journal> journal;
  std::map<std::string, manifest::InputRecord> previous;  // journal rows of earlier runs
  std::unique_ptr<distribute::JobBoard> job;              // --redis/--job: the shared corpus
  std::unique_ptr<asr::Transcriber> transcriber;
  std::shared_ptr<const models::WhisperModel> model;  // on devices[0]
  ExecContext ctx;  // the first engine's device, and the engines' CPU threads together
  // Batched mode: one model per device (models[i] on devices[i]); more than one device
  // only for --device cuda:all on a machine with several GPUs.
  std::vector<Device> devices;
  std::vector<std::shared_ptr<const models::WhisperModel>> models;
  int engines_per_device = 1;  // effective_engines_per_device() for these devices
  cuda::GpuProbe gpu_probe;    // how the devices were chosen (PCI bus ids for NVML)
  // The diarizer's LSTMs multiply in bfloat16: where the CPU has native bf16 and the
  // compute type is int8_bfloat16, bfloat16 or float16 (auto gives one of these).
  bool diarize_bf16 = false;
  manifest::Manifest manifest;  // header filled in; inputs are the run's to fill
};

struct DeviceChoice {
  std::vector<Device> devices;
  cuda::GpuProbe probe;  // what the choice was made on; empty for "cpu"
};

// The devices for a request (is_device_request()) on a probe's GPUs: auto and cuda give
// the first usable GPU, cuda:all every usable one (with a warning for each it leaves out),
// cuda:N that one (ConfigError when it is missing or unusable but others can run).
// Without a usable GPU every request falls back to the CPU: with a warning, or a note
// for auto.
DeviceChoice choose_devices(const std::string& requested, cuda::GpuProbe probe);
// choose_devices on this machine's GPUs (none probed for "cpu").
DeviceChoice select_devices(const std::string& requested);
// Whether every device has room for a second engine beside the first
// (effective_engines_per_device): the memory it had free before the weights were loaded
// against the estimates of whisper_config.h at the run's initial batch and rows per
// window. Logs the numbers when it does not.
bool room_for_two_engines(const RunOptions& options, const models::WhisperConfig& config,
                          size_t activation_bytes, size_t matrix_bytes, const cuda::GpuProbe& probe,
                          const std::vector<Device>& devices);
// The first of select_devices(requested).devices.
Device select_device(const std::string& requested);

// The GPUs of a run for the manifest: each device's card, compute capability, memory and
// PCI bus id; the driver, CUDA and cuBLAS versions.
nlohmann::ordered_json gpu_record(const cuda::GpuProbe& probe, const std::vector<Device>& devices);

// The compute type for a request on a device: auto gives half precision on a GPU and
// best_cpu_compute_type() on the CPU; the CPU runs float16/bfloat16 requests as int8,
// with a warning. Throws ConfigError for an unknown name.
models::ComputeType select_compute_type(const std::string& requested, Device device);

// Throws ConfigError/ModelError as described above.
RunSetup prepare_run(const RunOptions& options);

}  // namespace voiceman::pipeline

// FFmpeg decoding that reproduces faster-whisper's PyAV pipeline sample for sample.
#include "voiceman/audio/decode_ffmpeg.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "voiceman/audio/media_file.h"
#include "voiceman/core/log.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
}

namespace voiceman::audio::detail {
namespace {

struct FormatCloser {
  void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct CodecFree {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct SwrFree {
  void operator()(SwrContext* p) const { swr_free(&p); }
};
struct DictFree {
  void operator()(AVDictionary* p) const { av_dict_free(&p); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using SwrPtr = std::unique_ptr<SwrContext, SwrFree>;

// AVChannelLayout may own a heap map (custom orders), so it needs an uninit on every path.
struct Layout {
  AVChannelLayout value{};
  Layout() = default;
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
  ~Layout() { av_channel_layout_uninit(&value); }
};

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

void silence_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });  // the library never prints
}

// Probe scores below this mean FFmpeg only guessed (e.g. from the file extension).
constexpr int kConfidentProbe = AVPROBE_SCORE_RETRY;

// The containers recordings come in. Others are refused before their header is read:
// a playlist (hls) or concat script named call.mp3 would otherwise be "decoded" from
// other files, which were never hashed, under the original's name.
constexpr const char* kDemuxers = "wav,w64,mp3,flac,ogg,mov,matroska,aac,asf,amr,aiff,caf,wv";

// After avformat_open_input failed: was this something FFmpeg recognises but cannot
// read (corrupt/truncated), or not media at all?
[[noreturn]] void throw_open_failure(const std::filesystem::path& path, int code) {
  if (code == AVERROR(ENOENT) || code == AVERROR(EACCES) || code == AVERROR(EISDIR)) {
    throw_media_error(path, "unreadable (" + av_error(code) + ")");
  }
  std::vector<unsigned char> head(4096 + AVPROBE_PADDING_SIZE, 0);
  std::ifstream in(path, std::ios::binary | std::ios::in);
  in.read(reinterpret_cast<char*>(head.data()), 4096);
  const std::string name = path.filename().string();
  AVProbeData probe{};
  probe.filename = name.c_str();
  probe.buf = head.data();
  probe.buf_size = static_cast<int>(in.gcount());
  int score = 0;
  const AVInputFormat* format = av_probe_input_format3(&probe, 1, &score);
  if (format == nullptr || score < kConfidentProbe) {
    throw_media_error(path, "not audio (unrecognised format)");
  }
  if (av_match_list(format->name, kDemuxers, ',') <= 0) {
    throw_media_error(path,
                      std::string("not audio in a supported container (FFmpeg reads it as '") +
                          format->name + "', which voiceman refuses)");
  }
  throw_media_error(path, std::string("corrupt or truncated media (") + format->name + ": " +
                              av_error(code) + ")");
}

// Streams frames through one SwrContext to s16 mono 16 kHz, rebuilding it if the
// stream's format changes mid-file (PyAV would raise there; we keep the audio).
class MonoConverter {
 public:
  MonoConverter(const std::filesystem::path& path, int channel, std::vector<float>& out)
      : path_(path), channel_(channel), out_(out) {}

  void convert(const AVFrame* frame) {
    const int channels = frame->ch_layout.nb_channels;
    if (channel_ >= channels) {
      throw_media_error(path_, "channel " + std::to_string(channel_) +
                                   " requested but the stream has " + std::to_string(channels) +
                                   " channel(s)");
    }
    if (!swr_ || frame->format != in_format_ || frame->sample_rate != in_rate_ ||
        av_channel_layout_compare(&frame->ch_layout, &in_layout_.value) != 0) {
      if (swr_) {
        log::warn("audio format changes mid-stream in '", path_.string(), "'; resampling anew");
        flush();
      }
      setup(frame);
    }
    const auto format = static_cast<AVSampleFormat>(frame->format);
    const uint8_t* planes[1] = {nullptr};
    const uint8_t** input = const_cast<const uint8_t**>(frame->extended_data);
    if (channel_ >= 0) {
      if (av_sample_fmt_is_planar(format)) {
        planes[0] = frame->extended_data[channel_];
      } else {
        // Packed input: gather the one channel into a contiguous mono buffer.
        const int bytes = av_get_bytes_per_sample(format);
        picked_.resize(static_cast<size_t>(bytes) * frame->nb_samples);
        const uint8_t* src = frame->extended_data[0] + static_cast<size_t>(channel_) * bytes;
        for (int i = 0; i < frame->nb_samples; ++i) {
          std::copy_n(src + static_cast<size_t>(i) * channels * bytes, bytes,
                      picked_.data() + static_cast<size_t>(i) * bytes);
        }
        planes[0] = picked_.data();
      }
      input = planes;
    }
    run(input, frame->nb_samples);
  }

  // Drains the resampler's delay line, as faster-whisper does with resample(None).
  void flush() {
    if (!swr_) return;
    while (run(nullptr, 0) > 0) {
    }
    swr_.reset();
  }

 private:
  void setup(const AVFrame* frame) {
    in_format_ = frame->format;
    in_rate_ = frame->sample_rate;
    av_channel_layout_uninit(&in_layout_.value);
    av_channel_layout_copy(&in_layout_.value, &frame->ch_layout);

    Layout source;
    auto format = static_cast<AVSampleFormat>(frame->format);
    if (channel_ >= 0) {
      av_channel_layout_default(&source.value, 1);
      format = av_get_planar_sample_fmt(format);  // mono planar == mono packed in memory
    } else if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      // swresample assumes the default layout for a bare channel count; say so up front.
      av_channel_layout_default(&source.value, frame->ch_layout.nb_channels);
    } else {
      av_channel_layout_copy(&source.value, &frame->ch_layout);
    }
    Layout mono;
    av_channel_layout_default(&mono.value, 1);
    SwrContext* raw = nullptr;
    int rc = swr_alloc_set_opts2(&raw, &mono.value, AV_SAMPLE_FMT_S16, kSampleRate, &source.value,
                                 format, frame->sample_rate, 0, nullptr);
    swr_.reset(raw);
    // Channels without a speaker layout are separate microphones: their mean, as the WAV
    // reader takes. swresample's default layout for the count would drop the "LFE" one.
    const int n = frame->ch_layout.nb_channels;
    if (rc >= 0 && channel_ < 0 && frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC && n > 2) {
      const std::vector<double> mean(static_cast<size_t>(n), 1.0 / n);
      rc = swr_set_matrix(swr_.get(), mean.data(), n);
    }
    if (rc >= 0) rc = swr_init(swr_.get());
    if (rc < 0) {
      throw_media_error(path_,
                        "corrupt or truncated media (cannot resample: " + av_error(rc) + ")");
    }
  }

  int run(const uint8_t** input, int count) {
    const int capacity = swr_get_out_samples(swr_.get(), count) + 32;
    buffer_.resize(static_cast<size_t>(capacity));
    auto* out = reinterpret_cast<uint8_t*>(buffer_.data());
    const int made = swr_convert(swr_.get(), &out, capacity, input, count);
    if (made < 0) {
      throw_media_error(path_,
                        "corrupt or truncated media (resampling failed: " + av_error(made) + ")");
    }
    for (int i = 0; i < made; ++i) out_.push_back(static_cast<float>(buffer_[i]) / 32768.0f);
    return made;
  }

  const std::filesystem::path& path_;
  int channel_;
  std::vector<float>& out_;
  SwrPtr swr_;
  int in_format_ = -1;
  int in_rate_ = 0;
  Layout in_layout_;
  std::vector<uint8_t> picked_;
  std::vector<int16_t> buffer_;
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// The audio's length as the container states it, or 0 where it only guesses it from the
// bitrate (an mp3 without a header): a guess is no evidence of a missing part.
double declared_duration_s(const AVFormatContext& format, const AVStream& stream) {
  if (format.duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) return 0;
  if (stream.duration != AV_NOPTS_VALUE && stream.duration > 0)
    return static_cast<double>(stream.duration) * av_q2d(stream.time_base);
  if (format.duration != AV_NOPTS_VALUE && format.duration > 0)
    return static_cast<double>(format.duration) / AV_TIME_BASE;
  return 0;
}

}  // namespace

Audio decode_with_ffmpeg(const std::filesystem::path& path, const DecodeOptions& options) {
  silence_ffmpeg();
  check_media_file(path);

  // "file:" keeps names containing ':' from being read as protocols; the whitelist keeps
  // playlists and similar containers from reaching anything but local files. The file
  // protocol opens read-only for input.
  AVDictionary* raw_options = nullptr;
  av_dict_set(&raw_options, "protocol_whitelist", "file", 0);
  av_dict_set(&raw_options, "format_whitelist", kDemuxers, 0);
  std::unique_ptr<AVDictionary*, void (*)(AVDictionary**)> open_options(
      &raw_options, [](AVDictionary** d) { av_dict_free(d); });
  AVFormatContext* raw_format = nullptr;
  const std::string url = "file:" + path.string();
  int rc = avformat_open_input(&raw_format, url.c_str(), nullptr, &raw_options);
  if (rc < 0) throw_open_failure(path, rc);  // raw_format is already freed on failure
  FormatPtr format(raw_format);

  rc = avformat_find_stream_info(format.get(), nullptr);
  if (rc < 0) {
    throw_media_error(path, "corrupt or truncated media (" + av_error(rc) + ")");
  }

  // Like PyAV's container.decode(audio=0): the first audio stream, not the "best" one.
  int stream_index = -1;
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
      stream_index = static_cast<int>(i);
      break;
    }
  }
  if (stream_index < 0) {
    if (format->nb_streams == 0 && format->probe_score < kConfidentProbe) {
      throw_media_error(path, "not audio (unrecognised format)");
    }
    throw_media_error(
        path, "no audio stream (" + std::to_string(format->nb_streams) + " other stream(s) found)");
  }
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) format->streams[i]->discard = AVDISCARD_ALL;
  }
  AVStream* stream = format->streams[stream_index];
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    throw_media_error(path, std::string("unsupported audio codec '") +
                                avcodec_get_name(stream->codecpar->codec_id) + "'");
  }
  CodecPtr decoder(avcodec_alloc_context3(codec));
  if (!decoder) throw std::bad_alloc();
  rc = avcodec_parameters_to_context(decoder.get(), stream->codecpar);
  if (rc >= 0) {
    decoder->pkt_timebase = stream->time_base;
    rc = avcodec_open2(decoder.get(), codec, nullptr);
  }
  if (rc < 0) {
    throw_media_error(path, "corrupt or truncated media (cannot open the " +
                                std::string(codec->name) + " decoder: " + av_error(rc) + ")");
  }
  const int declared_channels = decoder->ch_layout.nb_channels;
  if (declared_channels > 0 && options.channel >= declared_channels) {
    throw_media_error(path, "channel " + std::to_string(options.channel) +
                                " requested but the file has " + std::to_string(declared_channels) +
                                " channel(s)");
  }

  Audio audio;
  audio.source_sample_rate = decoder->sample_rate;
  audio.source_channels = declared_channels;
  MonoConverter converter(path, options.channel, audio.samples);
  PacketPtr packet(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!packet || !frame) throw std::bad_alloc();

  // PyAV stops at the first invalid-data error (the generator dies) and keeps what it
  // decoded; mirror that, but say so. Any other error is a read failure.
  std::string stopped;
  auto drain = [&]() {
    while (true) {
      const int got = avcodec_receive_frame(decoder.get(), frame.get());
      if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return true;
      if (got == AVERROR_INVALIDDATA) {
        stopped = av_error(got);
        return false;
      }
      if (got < 0) throw_media_error(path, "unreadable (" + av_error(got) + ")");
      if (audio.source_sample_rate == 0) audio.source_sample_rate = frame->sample_rate;
      if (audio.source_channels == 0) audio.source_channels = frame->ch_layout.nb_channels;
      converter.convert(frame.get());
      av_frame_unref(frame.get());
    }
  };
  bool ok = true;
  while (ok) {
    rc = av_read_frame(format.get(), packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc == AVERROR_INVALIDDATA) {
      stopped = av_error(rc);
      ok = false;
      break;
    }
    if (rc < 0) throw_media_error(path, "unreadable (" + av_error(rc) + ")");
    if (packet->stream_index == stream_index) {
      rc = avcodec_send_packet(decoder.get(), packet.get());
      if (rc == AVERROR_INVALIDDATA) {
        stopped = av_error(rc);
        ok = false;
      } else if (rc < 0 && rc != AVERROR(EAGAIN)) {
        throw_media_error(path, "unreadable (" + av_error(rc) + ")");
      }
    }
    av_packet_unref(packet.get());
    if (ok) ok = drain();
  }
  if (ok) {
    avcodec_send_packet(decoder.get(), nullptr);  // flush the decoder's delayed frames
    drain();
  }
  converter.flush();

  if (!stopped.empty()) {
    if (audio.samples.empty()) {
      if (format->probe_score < kConfidentProbe) {
        throw_media_error(path, "not audio (" + stopped + ")");
      }
      throw_media_error(path, "corrupt or truncated media (" + stopped + ")");
    }
  } else if (audio.samples.empty() && format->probe_score < kConfidentProbe) {
    throw_media_error(path, "not audio (no decodable audio found)");
  }
  // The container's own length tells a cut-off file from a short one.
  const double declared = declared_duration_s(*format, *stream);
  const bool short_of_declared = declared - audio.duration_s() > std::max(1.0, 0.02 * declared);
  const std::string of_declared =
      short_of_declared ? " of the " + seconds_text(declared) + " the container declares" : "";
  if (!stopped.empty())
    audio.warnings.push_back("decoding stopped at " + seconds_text(audio.duration_s()) +
                             of_declared + " (" + stopped +
                             "); the audio after that point is not transcribed");
  else if (short_of_declared)
    audio.warnings.push_back("decoded " + seconds_text(audio.duration_s()) + of_declared +
                             " (the file may be truncated)");
  // FFmpeg reads a WAV cut short to the end of the file without a word; its header says more.
  if (std::strcmp(format->iformat->name, "wav") == 0)
    if (auto cut = wav_cut_short(path)) audio.warnings.push_back(std::move(*cut));
  for (const std::string& w : audio.warnings) log::warn("'", path.string(), "': ", w);
  return audio;
}

}  // namespace voiceman::audio::detail

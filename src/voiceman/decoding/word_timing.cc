#include "voiceman/decoding/word_timing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "voiceman/decoding/text_utils.h"

namespace voiceman::decoding {

namespace {

bool starts_with_space(const std::string& s) { return !s.empty() && s.front() == ' '; }
bool ends_with_space(const std::string& s) { return !s.empty() && s.back() == ' '; }

void move_into(WordTiming& from, WordTiming& to, bool before) {
  to.word = before ? from.word + to.word : to.word + from.word;
  if (before) {
    to.tokens.insert(to.tokens.begin(), from.tokens.begin(), from.tokens.end());
  } else {
    to.tokens.insert(to.tokens.end(), from.tokens.begin(), from.tokens.end());
  }
  from.word.clear();
  from.tokens.clear();
}

// numpy.median of the non-zero durations (0 when there are none).
double median_nonzero_duration(const std::vector<WordTiming>& alignment, bool& any) {
  std::vector<double> d;
  for (const WordTiming& w : alignment) {
    const double duration = w.end - w.start;
    if (duration != 0) d.push_back(duration);
  }
  any = !d.empty();
  if (d.empty()) return 0.0;
  std::sort(d.begin(), d.end());
  const size_t mid = d.size() / 2;
  return d.size() % 2 == 1 ? d[mid] : (d[mid - 1] + d[mid]) / 2.0;
}

}  // namespace

void merge_punctuations(std::vector<WordTiming>& a, std::string_view prepended,
                        std::string_view appended) {
  if (a.size() < 2) return;
  // Prepended marks, right to left, so " ( \"" chains onto the word that follows.
  size_t j = a.size() - 1;
  for (size_t i = a.size() - 1; i-- > 0;) {
    if (starts_with_space(a[i].word) && python_in(python_strip(a[i].word), prepended)) {
      move_into(a[i], a[j], /*before=*/true);
    } else {
      j = i;
    }
  }
  // Appended marks, left to right.
  size_t i = 0;
  for (j = 1; j < a.size(); ++j) {
    if (!ends_with_space(a[i].word) && python_in(a[j].word, appended)) {
      move_into(a[j], a[i], /*before=*/false);
    } else {
      i = j;
    }
  }
}

double round2(double x) {
  if (!std::isfinite(x) || std::fabs(x) >= 1e15) return x;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", x);  // glibc prints the exact value, ties to even
  return std::strtod(buf, nullptr);
}

WordTimestampsResult add_word_timestamps(std::span<SegmentTokens> segments,
                                         std::vector<WordTiming> alignment, double time_offset,
                                         int32_t eot, double last_speech_timestamp,
                                         std::string_view prepended, std::string_view appended) {
  WordTimestampsResult out;
  out.last_speech_timestamp = last_speech_timestamp;
  if (segments.empty()) return out;

  bool any_duration = false;
  const double median_duration = std::min(0.7, median_nonzero_duration(alignment, any_duration));
  const double max_duration = median_duration * 2;

  // Words at sentence boundaries may not be longer than twice the median word.
  if (any_duration) {
    for (size_t i = 1; i < alignment.size(); ++i) {
      WordTiming& w = alignment[i];
      if (w.end - w.start > max_duration) {
        if (python_in(w.word, kSentenceEndMarks)) {
          w.end = w.start + max_duration;
        } else if (python_in(alignment[i - 1].word, kSentenceEndMarks)) {
          w.start = w.end - max_duration;
        }
      }
    }
  }
  merge_punctuations(alignment, prepended, appended);

  double last_speech = last_speech_timestamp;
  size_t word_index = 0;
  out.words.resize(segments.size());
  for (size_t s = 0; s < segments.size(); ++s) {
    SegmentTokens& seg = segments[s];
    const size_t text_tokens = size_t(
        std::count_if(seg.tokens.begin(), seg.tokens.end(), [eot](int32_t t) { return t < eot; }));
    std::vector<WordTiming>& words = out.words[s];
    // Hand out words until they cover this segment's text tokens.
    size_t saved_tokens = 0;
    while (word_index < alignment.size() && saved_tokens < text_tokens) {
      const WordTiming& timing = alignment[word_index];
      if (!timing.word.empty()) {
        WordTiming w = timing;
        w.start = round2(time_offset + timing.start);
        w.end = round2(time_offset + timing.end);
        words.push_back(std::move(w));
      }
      saved_tokens += timing.tokens.size();
      ++word_index;
    }
    if (words.empty()) continue;

    WordTiming& first = words.front();
    // After a pause, the first (and second) word may not be longer than twice the median.
    if (first.end - last_speech > median_duration * 4 &&
        (first.end - first.start > max_duration ||
         (words.size() > 1 && words[1].end - first.start > max_duration * 2))) {
      if (words.size() > 1 && words[1].end - words[1].start > max_duration) {
        const double boundary = std::max(words[1].end / 2, words[1].end - max_duration);
        first.end = words[1].start = boundary;
      }
      first.start = std::max(0.0, first.end - max_duration);
    }
    // Prefer the segment's start timestamp if the first word is too long.
    if (seg.start < first.end && seg.start - 0.5 > first.start) {
      first.start = std::max(0.0, std::min(first.end - median_duration, seg.start));
    } else {
      seg.start = first.start;
    }
    // Prefer the segment's end timestamp if the last word is too long.
    WordTiming& last = words.back();
    if (seg.end > last.start && seg.end + 0.5 < last.end) {
      last.end = std::max(last.start + median_duration, seg.end);
    } else {
      seg.end = last.end;
    }
    last_speech = seg.end;
  }
  out.last_speech_timestamp = last_speech;
  return out;
}

}  // namespace voiceman::decoding

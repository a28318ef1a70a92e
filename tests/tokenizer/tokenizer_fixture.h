#pragma once
// Loads each model folder's tokenizer once per test binary; tests skip when it is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "support/paths.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::tokenizer::test {

inline const Tokenizer* cached_tokenizer(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(model);
  if (it == loaded.end()) {
    const auto dir = voiceman::testing::model_dir(model);
    std::unique_ptr<Tokenizer> tok;
    if (std::filesystem::exists(dir / "tokenizer.json"))
      tok = std::make_unique<Tokenizer>(Tokenizer::load(dir));
    it = loaded.emplace(model, std::move(tok)).first;
  }
  return it->second.get();
}

}  // namespace voiceman::tokenizer::test

// Declares `const Tokenizer* var` for the model folder, or skips the test without it.
#define TOKENIZER_OR_SKIP(var, model)                       \
  const ::voiceman::tokenizer::Tokenizer* var =             \
      ::voiceman::tokenizer::test::cached_tokenizer(model); \
  if (var == nullptr) GTEST_SKIP() << "models/" << (model) << " is not present"

#include "bert/bert_encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bert/bert_checkpoint.h"
#include "bert/bert_config.h"
#include "bert/compute_backend.h"
#include "bert/safetensors.h"
#include "ci_skip.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

namespace fs = std::filesystem;

fs::path FixtureDir() {
  return fs::path(CHATBOT_SOURCE_DIR) / "../shared/fixtures/bert-tiny";
}

// The bert-tiny checkpoint and the reference outputs of Hugging Face's
// BertForSequenceClassification (PyTorch) for a padded batch of four.
class BertEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path dir = FixtureDir();
    if (!fs::exists(dir / "model.safetensors") || !fs::exists(dir / "expected.safetensors")) {
      CHATBOT_SKIP("bert-tiny fixture not available at " << dir);
    }
    checkpoint_ = BertCheckpoint::Load(dir);
    expected_ = SafeTensorsFile::Read(dir / "expected.safetensors");
    const Tensor& ids = expected_.Get("input_ids");
    batch_.batch = static_cast<int>(ids.shape[0]);
    batch_.seq_len = static_cast<int>(ids.shape[1]);
    const auto ints = [&](const std::string& name) {
      const Tensor& t = expected_.Get(name);
      return std::vector<int32_t>(t.ints.begin(), t.ints.end());
    };
    batch_.input_ids = ints("input_ids");
    batch_.token_type_ids = ints("token_type_ids");
    batch_.attention_mask = ints("attention_mask");
  }

  const std::vector<float>& Expected(const std::string& name) { return expected_.Get(name).values; }

  int Length(int b) const {
    int n = 0;
    for (int t = 0; t < batch_.seq_len; ++t) n += batch_.attention_mask[b * batch_.seq_len + t];
    return n;
  }

  // Sequence b alone, without padding.
  EncoderBatch Single(int b) const {
    EncoderBatch one;
    one.batch = 1;
    one.seq_len = Length(b);
    const auto slice = [&](const std::vector<int32_t>& v) {
      return std::vector<int32_t>(v.begin() + b * batch_.seq_len,
                                  v.begin() + b * batch_.seq_len + one.seq_len);
    };
    one.input_ids = slice(batch_.input_ids);
    one.token_type_ids = slice(batch_.token_type_ids);
    one.attention_mask = slice(batch_.attention_mask);
    return one;
  }

  static EncoderOptions All() {
    EncoderOptions o;
    o.want_last_hidden = true;
    o.want_pooler = true;
    o.want_mean = true;
    o.want_logits = true;
    return o;
  }

  BertCheckpoint checkpoint_;
  SafeTensorsFile expected_;
  EncoderBatch batch_;
};

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float MaxAbsDiff(const float* a, const float* b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST_F(BertEncoderTest, MatchesHuggingFaceOnPaddedBatch) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend());
  EXPECT_EQ(encoder.num_labels(), 5);
  EncoderOutput out;
  encoder.Forward(batch_, &out, All());
  EXPECT_EQ(out.batch, 4);
  EXPECT_EQ(out.hidden, 64);
  EXPECT_EQ(out.num_labels, 5);
  EXPECT_LT(MaxAbsDiff(out.last_hidden_state, Expected("last_hidden_state")), 1e-4f);
  EXPECT_LT(MaxAbsDiff(out.pooler_output, Expected("pooler_output")), 1e-4f);
  EXPECT_LT(MaxAbsDiff(out.mean_pooled, Expected("mean_pooled")), 1e-4f);
  EXPECT_LT(MaxAbsDiff(out.logits, Expected("logits")), 1e-4f);
}

TEST_F(BertEncoderTest, AcceptsTheFileTensorsWithBertPrefix) {
  const SafeTensorsFile file = SafeTensorsFile::Read(FixtureDir() / "model.safetensors");
  ASSERT_TRUE(file.Has("bert.embeddings.word_embeddings.weight"));
  const BertEncoder encoder(checkpoint_.config, file.tensors(), nullptr);
  EncoderOutput out;
  encoder.Forward(batch_, &out, All());
  EXPECT_LT(MaxAbsDiff(out.logits, Expected("logits")), 1e-4f);
  EXPECT_LT(MaxAbsDiff(out.last_hidden_state, Expected("last_hidden_state")), 1e-4f);
}

TEST_F(BertEncoderTest, SkippingPaddingGivesTheSameResults) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend());
  EncoderOutput full;
  encoder.Forward(batch_, &full, All());
  EncoderOptions packed_options = All();
  packed_options.want_last_hidden = false;
  EncoderOutput packed;
  encoder.Forward(batch_, &packed, packed_options);
  EXPECT_TRUE(packed.last_hidden_state.empty());
  EXPECT_LT(MaxAbsDiff(packed.pooler_output, full.pooler_output), 1e-5f);
  EXPECT_LT(MaxAbsDiff(packed.mean_pooled, full.mean_pooled), 1e-5f);
  EXPECT_LT(MaxAbsDiff(packed.logits, full.logits), 1e-5f);
}

TEST_F(BertEncoderTest, BatchEqualsOneByOne) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend());
  EncoderOutput all;
  encoder.Forward(batch_, &all, All());
  const int h = all.hidden;
  bool saw_padding = false;
  for (int b = 0; b < batch_.batch; ++b) {
    const EncoderBatch one = Single(b);
    saw_padding |= one.seq_len < batch_.seq_len;
    EncoderOutput single;
    encoder.Forward(one, &single, All());
    SCOPED_TRACE("sequence " + std::to_string(b));
    ASSERT_EQ(single.last_hidden_state.size(), static_cast<size_t>(one.seq_len) * h);
    EXPECT_LT(MaxAbsDiff(single.last_hidden_state.data(),
                         all.last_hidden_state.data() + static_cast<size_t>(b) * batch_.seq_len * h,
                         single.last_hidden_state.size()),
              1e-5f);
    EXPECT_LT(MaxAbsDiff(single.pooler_output.data(), all.pooler_output.data() + b * h, h), 1e-5f);
    EXPECT_LT(MaxAbsDiff(single.mean_pooled.data(), all.mean_pooled.data() + b * h, h), 1e-5f);
    EXPECT_LT(MaxAbsDiff(single.logits.data(), all.logits.data() + b * 5, 5), 1e-5f);
  }
  EXPECT_TRUE(saw_padding) << "the fixture batch should contain padding";
}

TEST_F(BertEncoderTest, OnlyRequestedOutputsAreFilled) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend());
  EncoderOutput out;
  encoder.Forward(batch_, &out, All());
  EncoderOptions logits_only;
  logits_only.want_mean = false;
  encoder.Forward(batch_, &out, logits_only);
  EXPECT_TRUE(out.last_hidden_state.empty());
  EXPECT_TRUE(out.pooler_output.empty());
  EXPECT_TRUE(out.mean_pooled.empty());
  EXPECT_LT(MaxAbsDiff(out.logits, Expected("logits")), 1e-4f);
}

TEST_F(BertEncoderTest, Bf16IsCloseToF32) {
  if (!DefaultComputeBackend()->Supports(Precision::kBF16)) {
    // Without bf16 in the CPU, asking for it is refused with a clear message.
    EXPECT_THROW(BertEncoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend(),
                             Precision::kBF16),
                 ConfigError);
    return;
  }
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend(),
                            Precision::kBF16);
  EXPECT_EQ(encoder.precision(), Precision::kBF16);
  EncoderOutput out;
  encoder.Forward(batch_, &out, All());
  const float logits_error = MaxAbsDiff(out.logits, Expected("logits"));
  EXPECT_LT(logits_error, 5e-2f);
  EXPECT_LT(MaxAbsDiff(out.pooler_output, Expected("pooler_output")), 5e-2f);
  EXPECT_LT(MaxAbsDiff(out.last_hidden_state, Expected("last_hidden_state")), 1e-1f);
  // It really is another precision, not f32 under another name.
  EXPECT_GT(MaxAbsDiff(out.last_hidden_state, Expected("last_hidden_state")), 1e-5f);
}

TEST_F(BertEncoderTest, ConcurrentForwardCallsAgree) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, DefaultComputeBackend());
  EncoderOutput reference;
  encoder.Forward(batch_, &reference, All());
  std::vector<float> errors(4, 1.0f);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      float worst = 0.0f;
      for (int round = 0; round < 20; ++round) {
        EncoderOutput out;
        // Alternate shapes so the threads run different row counts at once.
        if ((round + i) % 2 == 0) {
          encoder.Forward(batch_, &out, All());
          worst = std::max(worst, MaxAbsDiff(out.logits.data(), reference.logits.data(),
                                             reference.logits.size()));
        } else {
          encoder.Forward(Single(i), &out, All());
          worst =
              std::max(worst, MaxAbsDiff(out.logits.data(), reference.logits.data() + i * 5, 5));
        }
      }
      errors[i] = worst;
    });
  }
  for (auto& t : threads) t.join();
  for (float e : errors) EXPECT_LT(e, 1e-5f);
}

TEST_F(BertEncoderTest, RefusesMissingOrMisShapedTensors) {
  auto tensors = checkpoint_.tensors;
  tensors.erase("encoder.layer.1.attention.self.key.bias");
  try {
    BertEncoder encoder(checkpoint_.config, tensors, nullptr, Precision::kF32, "tiny.safetensors");
    FAIL() << "a missing tensor was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layer.1.attention.self.key.bias"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("tiny.safetensors"), std::string::npos) << e.what();
  }

  tensors = checkpoint_.tensors;
  Tensor& w = tensors.at("encoder.layer.0.intermediate.dense.weight");
  w.shape = {w.shape[1], w.shape[0]};  // transposed
  try {
    BertEncoder encoder(checkpoint_.config, tensors, nullptr);
    FAIL() << "a mis-shaped tensor was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layer.0.intermediate.dense.weight"),
              std::string::npos)
        << e.what();
  }

  tensors = checkpoint_.tensors;
  tensors.at("embeddings.LayerNorm.weight").values[3] = std::nanf("");
  EXPECT_THROW(BertEncoder(checkpoint_.config, tensors, nullptr), ModelError);

  tensors = checkpoint_.tensors;
  tensors.at("classifier.weight").shape = {7, 64};
  tensors.at("classifier.weight").values.resize(7 * 64);
  EXPECT_THROW(BertEncoder(checkpoint_.config, tensors, nullptr), ModelError);  // labels: 5
}

TEST_F(BertEncoderTest, WorksWithoutTheClassificationHead) {
  auto tensors = checkpoint_.tensors;
  tensors.erase("classifier.weight");
  tensors.erase("classifier.bias");
  BertConfig config = checkpoint_.config;
  config.labels.clear();
  const BertEncoder encoder(config, tensors, nullptr);
  EXPECT_EQ(encoder.num_labels(), 0);
  EncoderOutput out;
  encoder.Forward(batch_, &out, All());
  EXPECT_TRUE(out.logits.empty());
  EXPECT_LT(MaxAbsDiff(out.pooler_output, Expected("pooler_output")), 1e-4f);
}

TEST_F(BertEncoderTest, RefusesInvalidBatches) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, nullptr);
  EncoderOutput out;
  EncoderBatch bad = batch_;
  bad.input_ids[25] = checkpoint_.config.vocab_size;
  try {
    encoder.Forward(bad, &out);
    FAIL() << "an out-of-vocabulary id was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 1, position 5"), std::string::npos) << e.what();
  }
  bad = batch_;
  bad.input_ids.pop_back();
  EXPECT_THROW(encoder.Forward(bad, &out), DataError);
  bad = batch_;
  bad.token_type_ids[0] = 2;
  EXPECT_THROW(encoder.Forward(bad, &out), DataError);
  bad = batch_;
  bad.attention_mask[3] = 5;
  EXPECT_THROW(encoder.Forward(bad, &out), DataError);
  bad = EncoderBatch{};
  bad.batch = 1;
  bad.seq_len = checkpoint_.config.max_position_embeddings + 1;
  bad.input_ids.assign(bad.seq_len, 1);
  EXPECT_THROW(encoder.Forward(bad, &out), DataError);
}

TEST_F(BertEncoderTest, HandlesEmptyBatchesAndAllPaddingSequences) {
  const BertEncoder encoder(checkpoint_.config, checkpoint_.tensors, nullptr);
  EncoderOutput out;
  EncoderBatch empty;
  empty.seq_len = 4;
  encoder.Forward(empty, &out, All());
  EXPECT_EQ(out.batch, 0);
  EXPECT_TRUE(out.logits.empty());

  EncoderBatch padded = batch_;
  std::fill(padded.attention_mask.begin() + 2 * padded.seq_len,
            padded.attention_mask.begin() + 3 * padded.seq_len, 0);
  encoder.Forward(padded, &out, All());
  for (float v : out.logits) EXPECT_TRUE(std::isfinite(v));
  // The other sequences are unaffected.
  EXPECT_LT(MaxAbsDiff(out.logits.data(), Expected("logits").data(), 10), 1e-4f);
  // Default masks and types: all ones, all zeros.
  EncoderBatch bare = Single(0);
  bare.attention_mask.clear();
  bare.token_type_ids.clear();
  encoder.Forward(bare, &out, All());
  EXPECT_LT(MaxAbsDiff(out.logits.data(), Expected("logits").data(), 5), 1e-4f);
}

// A random encoder with a head size that is not a multiple of the vector
// width (6), against a direct double-precision transcription of Hugging
// Face's BertForSequenceClassification.forward; the mask has a hole, so the
// attention gathers keys that are not consecutive.
BertConfig OddConfig() {
  BertConfig c;
  c.vocab_size = 50;
  c.hidden_size = 12;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 20;
  c.max_position_embeddings = 16;
  c.model_max_length = 16;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-12f;
  return c;
}

std::map<std::string, Tensor> RandomTensors(const BertConfig& c, int labels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::map<std::string, Tensor> t;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    Tensor x;
    x.shape = std::move(shape);
    x.values.resize(x.numel());
    for (float& v : x.values) v = normal(rng);
    t[name] = std::move(x);
  };
  const int64_t h = c.hidden_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, h});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  add("embeddings.LayerNorm.weight", {h});
  add("embeddings.LayerNorm.bias", {h});
  const auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    add(name + ".weight", {out, in});
    add(name + ".bias", {out});
  };
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    for (const char* part : {"query", "key", "value"}) {
      linear(p + "attention.self." + part, h, h);
    }
    linear(p + "attention.output.dense", h, h);
    add(p + "attention.output.LayerNorm.weight", {h});
    add(p + "attention.output.LayerNorm.bias", {h});
    linear(p + "intermediate.dense", c.intermediate_size, h);
    linear(p + "output.dense", h, c.intermediate_size);
    add(p + "output.LayerNorm.weight", {h});
    add(p + "output.LayerNorm.bias", {h});
  }
  linear("pooler.dense", h, h);
  linear("classifier", labels, h);
  return t;
}

using Matrix = std::vector<std::vector<double>>;

Matrix Linear(const Matrix& x, const std::map<std::string, Tensor>& t, const std::string& name) {
  const Tensor& w = t.at(name + ".weight");
  const Tensor& b = t.at(name + ".bias");
  const int64_t out = w.shape[0], in = w.shape[1];
  Matrix y(x.size(), std::vector<double>(out));
  for (size_t r = 0; r < x.size(); ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double s = b.values[o];
      for (int64_t i = 0; i < in; ++i) s += x[r][i] * w.values[o * in + i];
      y[r][o] = s;
    }
  }
  return y;
}

void LayerNormRef(Matrix* x, const std::map<std::string, Tensor>& t, const std::string& name) {
  const auto& g = t.at(name + ".weight").values;
  const auto& b = t.at(name + ".bias").values;
  for (auto& row : *x) {
    double mean = 0.0, var = 0.0;
    for (double v : row) mean += v;
    mean /= row.size();
    for (double v : row) var += (v - mean) * (v - mean);
    var /= row.size();
    for (size_t i = 0; i < row.size(); ++i) {
      row[i] = (row[i] - mean) / std::sqrt(var + 1e-12) * g[i] + b[i];
    }
  }
}

// One sequence (all seq_len positions) through the reference.
struct RefOutput {
  Matrix hidden;
  std::vector<double> pooled, mean, logits;
};

RefOutput Reference(const BertConfig& c, const std::map<std::string, Tensor>& t,
                    const std::vector<int32_t>& ids, const std::vector<int32_t>& types,
                    const std::vector<int32_t>& mask) {
  const int n = static_cast<int>(ids.size());
  const int h = c.hidden_size;
  const int d = c.head_size();
  Matrix x(n, std::vector<double>(h));
  for (int s = 0; s < n; ++s) {
    for (int i = 0; i < h; ++i) {
      x[s][i] = t.at("embeddings.word_embeddings.weight").values[ids[s] * h + i] +
                t.at("embeddings.position_embeddings.weight").values[s * h + i] +
                t.at("embeddings.token_type_embeddings.weight").values[types[s] * h + i];
    }
  }
  LayerNormRef(&x, t, "embeddings.LayerNorm");
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    const Matrix q = Linear(x, t, p + "attention.self.query");
    const Matrix k = Linear(x, t, p + "attention.self.key");
    const Matrix v = Linear(x, t, p + "attention.self.value");
    Matrix ctx(n, std::vector<double>(h, 0.0));
    for (int head = 0; head < c.num_attention_heads; ++head) {
      for (int i = 0; i < n; ++i) {
        std::vector<double> score(n);
        double max = -1e300;
        for (int j = 0; j < n; ++j) {
          double s = 0.0;
          for (int e = 0; e < d; ++e) s += q[i][head * d + e] * k[j][head * d + e];
          score[j] = s / std::sqrt(double(d)) + (mask[j] ? 0.0 : -3.4028234663852886e38);
          max = std::max(max, score[j]);
        }
        double sum = 0.0;
        for (double& s : score) sum += (s = std::exp(s - max));
        for (int j = 0; j < n; ++j) {
          for (int e = 0; e < d; ++e) ctx[i][head * d + e] += score[j] / sum * v[j][head * d + e];
        }
      }
    }
    Matrix attn = Linear(ctx, t, p + "attention.output.dense");
    for (int s = 0; s < n; ++s) {
      for (int i = 0; i < h; ++i) attn[s][i] += x[s][i];
    }
    LayerNormRef(&attn, t, p + "attention.output.LayerNorm");
    Matrix inter = Linear(attn, t, p + "intermediate.dense");
    for (auto& row : inter) {
      for (double& val : row) val = 0.5 * val * (1.0 + std::erf(val / std::sqrt(2.0)));
    }
    x = Linear(inter, t, p + "output.dense");
    for (int s = 0; s < n; ++s) {
      for (int i = 0; i < h; ++i) x[s][i] += attn[s][i];
    }
    LayerNormRef(&x, t, p + "output.LayerNorm");
  }
  RefOutput out;
  out.hidden = x;
  Matrix pooled = Linear({x[0]}, t, "pooler.dense");
  for (double& val : pooled[0]) val = std::tanh(val);
  out.pooled = pooled[0];
  out.logits = Linear(pooled, t, "classifier")[0];
  out.mean.assign(h, 0.0);
  int count = 0;
  for (int s = 0; s < n; ++s) {
    if (!mask[s]) continue;
    ++count;
    for (int i = 0; i < h; ++i) out.mean[i] += x[s][i];
  }
  for (double& val : out.mean) val /= std::max(count, 1);
  return out;
}

TEST(BertEncoderReferenceTest, MatchesDirectTranscriptionWithOddHeadSize) {
  const BertConfig config = OddConfig();
  const auto tensors = RandomTensors(config, 3, 11);
  EncoderBatch batch;
  batch.batch = 3;
  batch.seq_len = 7;
  batch.input_ids = {1, 5, 9, 13, 17, 21, 2, 1, 30, 31, 32, 33, 0, 0, 1, 44, 45, 0, 0, 0, 0};
  batch.token_type_ids = {0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0};
  batch.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0};
  {
    const BertEncoder encoder(config, tensors, nullptr);
    for (const bool want_last_hidden : {true, false}) {
      SCOPED_TRACE(want_last_hidden ? "all positions" : "real tokens only");
      EncoderOptions options;
      options.want_last_hidden = want_last_hidden;
      options.want_pooler = true;
      EncoderOutput out;
      encoder.Forward(batch, &out, options);
      const int h = config.hidden_size;
      for (int b = 0; b < batch.batch; ++b) {
        const auto slice = [&](const std::vector<int32_t>& v) {
          return std::vector<int32_t>(v.begin() + b * 7, v.begin() + b * 7 + 7);
        };
        const RefOutput ref = Reference(config, tensors, slice(batch.input_ids),
                                        slice(batch.token_type_ids), slice(batch.attention_mask));
        for (int i = 0; i < h; ++i) {
          EXPECT_NEAR(out.pooler_output[b * h + i], ref.pooled[i], 1e-4);
          EXPECT_NEAR(out.mean_pooled[b * h + i], ref.mean[i], 1e-4);
        }
        for (int i = 0; i < 3; ++i) EXPECT_NEAR(out.logits[b * 3 + i], ref.logits[i], 1e-4);
        if (want_last_hidden) {
          for (int s = 0; s < 7; ++s) {
            for (int i = 0; i < h; ++i) {
              EXPECT_NEAR(out.last_hidden_state[(b * 7 + s) * h + i], ref.hidden[s][i], 1e-4);
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace chatbot::bert

// Google Benchmark of the BERT encoder's forward pass (bert/bert_encoder.h)
// at MiniLM-L6 size: 6 layers, hidden 384, 12 heads, FFN 1536, vocabulary
// 30522, random weights from a fixed seed, a 151-label classifier (CLINC150).
// One thread (omp_set_num_threads(1)). Arguments: sequence length, batch
// size, precision (0 = f32, 1 = bf16); counter per_seq is the CPU time per
// sequence. BM_LinearLayersOnly runs the same products alone (the 6 x 4
// linear layers on batch x seq_len rows): the floor the forward pass can
// approach.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bert/bert_config.h"
#include "bert/bert_encoder.h"
#include "bert/compute_backend.h"
#include "bert/safetensors.h"

using namespace chatbot::bert;

namespace {

constexpr int kLabels = 151;

BertConfig MiniLmConfig() {
  BertConfig config;
  config.vocab_size = 30522;
  config.hidden_size = 384;
  config.num_hidden_layers = 6;
  config.num_attention_heads = 12;
  config.intermediate_size = 1536;
  config.max_position_embeddings = 512;
  config.type_vocab_size = 2;
  config.layer_norm_eps = 1e-12f;
  return config;
}

std::map<std::string, Tensor> RandomTensors(const BertConfig& c) {
  std::mt19937 rng(20240601);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::map<std::string, Tensor> tensors;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, float fill,
                       bool random) {
    Tensor t;
    t.shape = std::move(shape);
    t.values.assign(t.numel(), fill);
    if (random) {
      for (float& v : t.values) v = normal(rng);
    }
    tensors[name] = std::move(t);
  };
  const int64_t h = c.hidden_size;
  const int64_t inter = c.intermediate_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, h}, 0.0f, true);
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, h}, 0.0f, true);
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h}, 0.0f, true);
  add("embeddings.LayerNorm.weight", {h}, 1.0f, false);
  add("embeddings.LayerNorm.bias", {h}, 0.0f, false);
  const auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    add(name + ".weight", {out, in}, 0.0f, true);
    add(name + ".bias", {out}, 0.0f, true);
  };
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    linear(p + "attention.self.query", h, h);
    linear(p + "attention.self.key", h, h);
    linear(p + "attention.self.value", h, h);
    linear(p + "attention.output.dense", h, h);
    add(p + "attention.output.LayerNorm.weight", {h}, 1.0f, false);
    add(p + "attention.output.LayerNorm.bias", {h}, 0.0f, false);
    linear(p + "intermediate.dense", inter, h);
    linear(p + "output.dense", h, inter);
    add(p + "output.LayerNorm.weight", {h}, 1.0f, false);
    add(p + "output.LayerNorm.bias", {h}, 0.0f, false);
  }
  linear("pooler.dense", h, h);
  linear("classifier", kLabels, h);
  return tensors;
}

const std::map<std::string, Tensor>& Tensors() {
  static const std::map<std::string, Tensor> tensors = RandomTensors(MiniLmConfig());
  return tensors;
}

const BertEncoder& Encoder(Precision precision) {
  static std::map<Precision, std::unique_ptr<BertEncoder>> encoders;
  auto& encoder = encoders[precision];
  if (encoder == nullptr) {
    encoder = std::make_unique<BertEncoder>(MiniLmConfig(), Tensors(), DefaultComputeBackend(),
                                            precision, "random MiniLM-L6");
  }
  return *encoder;
}

EncoderBatch RandomBatch(int batch, int seq_len) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(1000, 30521);
  EncoderBatch b;
  b.batch = batch;
  b.seq_len = seq_len;
  b.input_ids.resize(static_cast<size_t>(batch) * seq_len);
  for (int i = 0; i < batch; ++i) {
    for (int t = 0; t < seq_len; ++t) {
      b.input_ids[i * seq_len + t] = t == 0 ? 101 : t == seq_len - 1 ? 102 : token(rng);
    }
  }
  b.attention_mask.assign(b.input_ids.size(), 1);
  b.token_type_ids.assign(b.input_ids.size(), 0);
  return b;
}

bool SkipUnsupported(benchmark::State& state, Precision precision) {
  if (DefaultComputeBackend()->Supports(precision)) return false;
  state.SkipWithError("precision not supported on this CPU");
  return true;
}

void SetCounters(benchmark::State& state, int batch) {
  // Seconds per sequence, printed with an SI prefix ("2.91ms").
  state.counters["per_seq"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_BertForward(benchmark::State& state) {
  omp_set_num_threads(1);
  const int seq_len = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  const Precision precision = state.range(2) == 0 ? Precision::kF32 : Precision::kBF16;
  if (SkipUnsupported(state, precision)) return;
  const BertEncoder& encoder = Encoder(precision);
  const EncoderBatch input = RandomBatch(batch, seq_len);
  EncoderOptions options;
  options.want_mean = true;
  options.want_logits = true;
  EncoderOutput output;
  encoder.Forward(input, &output, options);  // warm-up: scratch, primitives
  for (auto _ : state) {
    encoder.Forward(input, &output, options);
    benchmark::DoNotOptimize(output.logits.data());
  }
  SetCounters(state, batch);
  state.SetLabel(std::string(PrecisionName(precision)));
}

void BM_LinearLayersOnly(benchmark::State& state) {
  omp_set_num_threads(1);
  const int seq_len = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  const Precision precision = state.range(2) == 0 ? Precision::kF32 : Precision::kBF16;
  if (SkipUnsupported(state, precision)) return;
  const BertConfig c = MiniLmConfig();
  const int h = c.hidden_size;
  const int inter = c.intermediate_size;
  const auto& t = Tensors();
  const auto& w = [&](const std::string& name) { return t.at(name).values.data(); };
  const auto backend = DefaultComputeBackend();
  // Every layer has its own weights, as in the model: at small batches the
  // products stream their weights from memory (42 MB in f32).
  struct Layer {
    std::unique_ptr<LinearLayer> qkv, attn_out, ffn1, ffn2;
  };
  std::vector<Layer> layers(c.num_hidden_layers);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    std::vector<float> qkv_w, qkv_b;
    for (const char* part : {"query", "key", "value"}) {
      const auto& pw = t.at(p + "attention.self." + part + ".weight").values;
      const auto& pb = t.at(p + "attention.self." + part + ".bias").values;
      qkv_w.insert(qkv_w.end(), pw.begin(), pw.end());
      qkv_b.insert(qkv_b.end(), pb.begin(), pb.end());
    }
    layers[i].qkv =
        backend->PrepareLinear(qkv_w.data(), qkv_b.data(), 3 * h, h, precision, Epilogue::kNone);
    layers[i].attn_out = backend->PrepareLinear(w(p + "attention.output.dense.weight"),
                                                w(p + "attention.output.dense.bias"), h, h,
                                                precision, Epilogue::kAccumulate);
    layers[i].ffn1 =
        backend->PrepareLinear(w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias"),
                               inter, h, precision, Epilogue::kGelu);
    layers[i].ffn2 =
        backend->PrepareLinear(w(p + "output.dense.weight"), w(p + "output.dense.bias"), h, inter,
                               precision, Epilogue::kAccumulate);
  }
  const int rows = batch * seq_len;
  std::vector<float> x(static_cast<size_t>(rows) * h, 0.1f), big(static_cast<size_t>(rows) * inter);
  std::vector<float> y(static_cast<size_t>(rows) * 3 * h);
  const auto run = [&] {
    for (const Layer& layer : layers) {
      layer.qkv->Forward(x.data(), rows, y.data());
      layer.attn_out->Forward(y.data(), rows, x.data());
      layer.ffn1->Forward(x.data(), rows, big.data());
      layer.ffn2->Forward(big.data(), rows, x.data());
    }
  };
  run();
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(x.data());
  }
  SetCounters(state, batch);
  state.SetLabel(std::string(PrecisionName(precision)));
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"seq", "batch", "bf16"})
      ->ArgsProduct({{8, 16, 32, 64, 128}, {1, 8, 32}, {0, 1}})
      ->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_BertForward)->Apply(Args);
BENCHMARK(BM_LinearLayersOnly)->Apply(Args);

}  // namespace

BENCHMARK_MAIN();

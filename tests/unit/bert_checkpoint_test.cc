#include "bert/bert_checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "ci_skip.h"
#include "common/atomic_file.h"
#include "common/error.h"

namespace chatbot::bert {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CHATBOT_SOURCE_DIR) / "../shared/fixtures/bert-tiny";

class BertCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("chatbot_bert_checkpoint_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small random checkpoint built in memory: 2 layers, hidden 8, 2 heads,
  // FFN 16, 3 labels, a 12-token vocabulary.
  static BertCheckpoint Small(bool with_classifier) {
    BertCheckpoint c;
    c.config.vocab_size = 12;
    c.config.hidden_size = 8;
    c.config.num_hidden_layers = 2;
    c.config.num_attention_heads = 2;
    c.config.intermediate_size = 16;
    c.config.max_position_embeddings = 10;
    c.config.model_max_length = 10;
    if (with_classifier) c.config.labels = {"greet", "bye", "oos"};
    c.vocab = Vocabulary::FromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c",
                                      "##a", "##b", "##c", "hello"});
    float next = 0.0f;
    for (const std::string& name : BertCheckpoint::ExpectedTensorNames(c.config, with_classifier)) {
      Tensor t;
      t.shape = BertCheckpoint::ExpectedShape(c.config, name);
      t.values.resize(static_cast<size_t>(t.numel()));
      for (float& v : t.values) v = (next += 0.001f);
      c.tensors[name] = t;
    }
    return c;
  }

  static std::string ModelErrorOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const ModelError& error) {
      return error.what();
    }
    ADD_FAILURE() << "no ModelError thrown";
    return "";
  }

  // Copies the fixture into dir_/name.
  fs::path CopyFixture(const std::string& name) {
    const fs::path target = dir_ / name;
    fs::create_directories(target);
    for (const auto& entry : fs::directory_iterator(kFixture)) {
      fs::copy_file(entry.path(), target / entry.path().filename());
      fs::permissions(target / entry.path().filename(),
                      fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
    }
    return target;
  }

  static void ExpectEqual(const BertCheckpoint& a, const BertCheckpoint& b) {
    EXPECT_EQ(a.config.vocab_size, b.config.vocab_size);
    EXPECT_EQ(a.config.hidden_size, b.config.hidden_size);
    EXPECT_EQ(a.config.num_hidden_layers, b.config.num_hidden_layers);
    EXPECT_EQ(a.config.num_attention_heads, b.config.num_attention_heads);
    EXPECT_EQ(a.config.intermediate_size, b.config.intermediate_size);
    EXPECT_EQ(a.config.max_position_embeddings, b.config.max_position_embeddings);
    EXPECT_EQ(a.config.layer_norm_eps, b.config.layer_norm_eps);
    EXPECT_EQ(a.config.labels, b.config.labels);
    EXPECT_EQ(a.config.do_lower_case, b.config.do_lower_case);
    EXPECT_EQ(a.config.strip_accents, b.config.strip_accents);
    EXPECT_EQ(a.config.model_max_length, b.config.model_max_length);
    EXPECT_EQ(a.vocab.tokens(), b.vocab.tokens());
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (const auto& [name, tensor] : a.tensors) {
      ASSERT_TRUE(b.tensors.count(name)) << name;
      EXPECT_EQ(b.tensors.at(name).shape, tensor.shape) << name;
      EXPECT_EQ(b.tensors.at(name).values, tensor.values) << name;
    }
  }

  fs::path dir_;
};

TEST_F(BertCheckpointTest, LoadsTheFixtureAndSavesAnEqualCopy) {
  if (!fs::exists(kFixture / "model.safetensors")) {
    CHATBOT_SKIP("fixture not available at " << kFixture);
  }
  const BertCheckpoint fixture = BertCheckpoint::Load(kFixture);
  EXPECT_TRUE(fixture.has_classifier());
  EXPECT_EQ(fixture.config.hidden_size, 64);
  EXPECT_EQ(fixture.config.num_hidden_layers, 2);
  EXPECT_THAT(fixture.config.labels,
              ElementsAre("intent_0", "intent_1", "intent_2", "intent_3", "intent_4"));
  EXPECT_EQ(fixture.vocab.size(), 2000);
  EXPECT_THAT(fixture.tensors.at("embeddings.word_embeddings.weight").shape, ElementsAre(2000, 64));
  EXPECT_THAT(fixture.tensors.at("classifier.weight").shape, ElementsAre(5, 64));
  EXPECT_EQ(fixture.tensors.size(),
            BertCheckpoint::ExpectedTensorNames(fixture.config, true).size());

  fs::create_directories(dir_ / "copy");
  fixture.Save(dir_ / "copy");
  // Saved with the "bert." prefix, as BertForSequenceClassification does.
  const SafeTensorsFile saved = SafeTensorsFile::Read(dir_ / "copy/model.safetensors");
  EXPECT_TRUE(saved.Has("bert.encoder.layer.1.output.dense.weight"));
  EXPECT_TRUE(saved.Has("classifier.bias"));
  EXPECT_EQ(saved.metadata().at("format"), "pt");
  ExpectEqual(fixture, BertCheckpoint::Load(dir_ / "copy"));
}

TEST_F(BertCheckpointTest, PrefixlessCheckpointWithoutClassifierLoads) {
  const BertCheckpoint small = Small(false);
  // Write it as BertModel would: no prefix, no head, plus buffers and an MLM
  // head that a loader must ignore.
  fs::create_directories(dir_ / "bare");
  small.config.Save(dir_ / "bare");
  small.vocab.Save(dir_ / "bare/vocab.txt");
  std::map<std::string, Tensor> stored = small.tensors;
  Tensor ids;
  ids.shape = {1, 10};
  ids.is_integer = true;
  ids.ints.assign(10, 0);
  stored["embeddings.position_ids"] = ids;
  Tensor head;
  head.shape = {12};
  head.values.assign(12, 0.5f);
  stored["cls.predictions.bias"] = head;
  WriteSafeTensors(dir_ / "bare/model.safetensors", stored);

  const BertCheckpoint loaded = BertCheckpoint::Load(dir_ / "bare");
  EXPECT_FALSE(loaded.has_classifier());
  EXPECT_TRUE(loaded.config.labels.empty());
  ExpectEqual(small, loaded);
}

TEST_F(BertCheckpointTest, SmallCheckpointRoundTripsWithClassifier) {
  const BertCheckpoint small = Small(true);
  small.Save(dir_);
  const BertCheckpoint loaded = BertCheckpoint::Load(dir_);
  EXPECT_TRUE(loaded.has_classifier());
  ExpectEqual(small, loaded);
}

TEST_F(BertCheckpointTest, ExpectedShapesFollowTheConfig) {
  const BertCheckpoint small = Small(true);
  const BertConfig& c = small.config;
  EXPECT_THAT(BertCheckpoint::ExpectedShape(c, "encoder.layer.1.intermediate.dense.weight"),
              ElementsAre(16, 8));
  EXPECT_THAT(BertCheckpoint::ExpectedShape(c, "encoder.layer.0.output.dense.weight"),
              ElementsAre(8, 16));
  EXPECT_THAT(BertCheckpoint::ExpectedShape(c, "classifier.weight"), ElementsAre(3, 8));
  EXPECT_THAT(BertCheckpoint::ExpectedShape(c, "embeddings.position_embeddings.weight"),
              ElementsAre(10, 8));
  EXPECT_THROW(BertCheckpoint::ExpectedShape(c, "encoder.layer.2.output.dense.weight"), ModelError);
  EXPECT_THROW(BertCheckpoint::ExpectedShape(c, "encoder.layer.x.output.dense.weight"), ModelError);
  EXPECT_EQ(BertCheckpoint::ExpectedTensorNames(c, false).size(), 5u + 2 * 16 + 2);
}

TEST_F(BertCheckpointTest, RefusesBrokenCheckpoints) {
  const BertCheckpoint small = Small(true);
  const auto fresh = [&](const std::string& name) {
    const fs::path d = dir_ / name;
    fs::create_directories(d);
    small.Save(d);
    return d;
  };

  {
    const fs::path d = fresh("missing");
    fs::remove(d / "model.safetensors");
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr((d / "model.safetensors").string() + ": no such file"));
  }
  {
    // A config with a larger FFN than the weights.
    const fs::path d = fresh("shape");
    BertConfig config = small.config;
    config.intermediate_size = 32;
    config.Save(d);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr((d / "model.safetensors").string() +
                          ": tensor 'encoder.layer.0.intermediate.dense.weight' has shape [16, 8], "
                          "expected [32, 8] from config.json"));
  }
  {
    const fs::path d = fresh("relu");
    BertConfig config = small.config;
    config.hidden_act = "relu";
    config.Save(d);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("unknown activation 'relu' in " + (d / "config.json").string() +
                          ": only gelu is supported"));
  }
  {
    const fs::path d = fresh("vocab");
    std::vector<std::string> tokens = small.vocab.tokens();
    tokens.pop_back();
    Vocabulary::FromTokens(tokens).Save(d / "vocab.txt");
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("vocabulary size disagrees with embeddings: vocab.txt has 11 tokens"));
  }
  {
    const fs::path d = fresh("truncated");
    const std::string bytes = ReadFile(d / "model.safetensors");
    WriteFileAtomically(d / "model.safetensors", bytes.substr(0, bytes.size() - 10));
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }), HasSubstr("truncated"));
  }
  {
    // Four labels in config.json, three classifier rows.
    const fs::path d = fresh("labels");
    BertConfig config = small.config;
    config.labels.push_back("extra");
    config.Save(d);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("tensor 'classifier.weight' has shape [3, 8], expected [4, 8] from the "
                          "4 labels of id2label"));
  }
  {
    // A tensor of a third layer the config does not have.
    const fs::path d = fresh("extra");
    std::map<std::string, Tensor> stored = small.tensors;
    stored["encoder.layer.2.output.dense.bias"] = small.tensors.at("pooler.dense.bias");
    WriteSafeTensors(d / "model.safetensors", stored);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("unexpected tensor 'encoder.layer.2.output.dense.bias'"));
  }
  {
    const fs::path d = fresh("absent");
    std::map<std::string, Tensor> stored = small.tensors;
    stored.erase("encoder.layer.1.attention.self.key.bias");
    WriteSafeTensors(d / "model.safetensors", stored);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("tensor 'encoder.layer.1.attention.self.key.bias' is missing"));
  }
  {
    // The same parameter with and without the prefix.
    const fs::path d = fresh("twice");
    std::map<std::string, Tensor> stored = small.tensors;
    stored["bert.pooler.dense.bias"] = small.tensors.at("pooler.dense.bias");
    WriteSafeTensors(d / "model.safetensors", stored);
    EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
                HasSubstr("are the same parameter"));
  }
  EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(dir_ / "nowhere"); }),
              HasSubstr("no such model directory"));
}

TEST_F(BertCheckpointTest, FixtureCopyWithEditedShapeIsRefused) {
  if (!fs::exists(kFixture / "model.safetensors")) {
    CHATBOT_SKIP("fixture not available at " << kFixture);
  }
  const fs::path d = CopyFixture("edited");
  std::string config = ReadFile(d / "config.json");
  const std::string from = "\"intermediate_size\": 128";
  ASSERT_NE(config.find(from), std::string::npos);
  config.replace(config.find(from), from.size(), "\"intermediate_size\": 256");
  WriteFileAtomically(d / "config.json", config);
  EXPECT_THAT(ModelErrorOf([&] { BertCheckpoint::Load(d); }),
              HasSubstr(": tensor 'encoder.layer.0.intermediate.dense.weight' has shape [128, 64], "
                        "expected [256, 64] from config.json"));
}

class BertConfigTest : public BertCheckpointTest {
 protected:
  void Write(const std::string& file, const std::string& text) {
    WriteFileAtomically(dir_ / file, text);
  }
  static constexpr const char* kConfig =
      R"({"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 1,
          "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
          "max_position_embeddings": 40, "id2label": {"1": "b", "0": "a"}})";
};

TEST_F(BertConfigTest, ReadsFieldsLabelsAndTokenizerOptions) {
  Write("config.json", kConfig);
  BertConfig c = BertConfig::Load(dir_);
  EXPECT_EQ(c.vocab_size, 100);
  EXPECT_EQ(c.head_size(), 8);
  EXPECT_THAT(c.labels, ElementsAre("a", "b"));
  // No tokenizer_config.json: lower-casing, accent stripping, full length.
  EXPECT_TRUE(c.do_lower_case);
  EXPECT_TRUE(c.strip_accents);
  EXPECT_EQ(c.model_max_length, 40);

  // strip_accents null follows do_lower_case; a huge model_max_length is clamped.
  Write("tokenizer_config.json",
        R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": false,
            "model_max_length": 1000000000000000019884624838656})");
  c = BertConfig::Load(dir_);
  EXPECT_FALSE(c.do_lower_case);
  EXPECT_FALSE(c.strip_accents);
  EXPECT_FALSE(c.tokenize_chinese_chars);
  EXPECT_EQ(c.model_max_length, 40);
  Write("tokenizer_config.json", R"({"do_lower_case": false, "strip_accents": true,
                                     "model_max_length": 16})");
  c = BertConfig::Load(dir_);
  EXPECT_TRUE(c.strip_accents);
  EXPECT_EQ(c.model_max_length, 16);

  // Save and load back.
  c.Save(dir_);
  const BertConfig again = BertConfig::Load(dir_);
  EXPECT_EQ(again.labels, c.labels);
  EXPECT_EQ(again.model_max_length, 16);
  EXPECT_FALSE(again.do_lower_case);
  EXPECT_TRUE(again.strip_accents);
  EXPECT_EQ(again.layer_norm_eps, c.layer_norm_eps);
  EXPECT_EQ(again.hidden_dropout_prob, c.hidden_dropout_prob);
  EXPECT_THAT(ReadFile(dir_ / "config.json"), HasSubstr("\"hidden_dropout_prob\": 0.1,"));
}

TEST_F(BertConfigTest, RefusesUnsupportedOrInconsistentConfigs) {
  struct Case {
    std::string json;
    std::string expected;
  };
  const Case cases[] = {
      {R"({"hidden_act": "relu"})", "unknown activation 'relu' in"},
      {R"({"hidden_act": "gelu_new"})", "only gelu is supported"},
      {R"({"hidden_size": 30, "num_attention_heads": 4})", "not a multiple of num_attention_heads"},
      {R"({"num_hidden_layers": 0})", "'num_hidden_layers' must be positive"},
      {R"({"vocab_size": -5})", "'vocab_size' must be positive"},
      {R"({"id2label": {"0": "a", "2": "c"}})", "id2label key '2'"},
      {R"({"id2label": {"0": 5}})", "id2label[0] must be a string"},
      {R"({"hidden_size": "big"})", "field 'hidden_size' must be an integer"},
      {R"({"model_type": "roberta"})", "model_type 'roberta'"},
      {R"([1])", "not a JSON object"},
  };
  for (const Case& c : cases) {
    Write("config.json", c.json);
    const std::string message = ModelErrorOf([&] { BertConfig::Load(dir_); });
    EXPECT_THAT(message, HasSubstr(c.expected)) << c.json;
    EXPECT_THAT(message, HasSubstr("config.json")) << c.json;
  }
  // gelu_python is the same exact GELU.
  Write("config.json", R"({"hidden_act": "gelu_python"})");
  EXPECT_EQ(BertConfig::Load(dir_).hidden_act, "gelu_python");
  fs::remove(dir_ / "config.json");
  EXPECT_THAT(ModelErrorOf([&] { BertConfig::Load(dir_); }),
              HasSubstr("config.json: no such file"));
}

TEST_F(BertConfigTest, PresetsHaveTheDocumentedSizes) {
  const BertConfig tiny = BertConfig::Preset("tiny", 8000, 151);
  EXPECT_EQ(tiny.num_hidden_layers, 2);
  EXPECT_EQ(tiny.hidden_size, 128);
  EXPECT_EQ(tiny.num_attention_heads, 2);
  EXPECT_EQ(tiny.intermediate_size, 512);
  EXPECT_EQ(tiny.vocab_size, 8000);
  EXPECT_EQ(tiny.labels.size(), 151u);
  EXPECT_EQ(tiny.max_position_embeddings, 128);
  EXPECT_EQ(tiny.model_max_length, 64);
  const BertConfig mini = BertConfig::Preset("mini", 100, 2);
  EXPECT_EQ(mini.num_hidden_layers, 4);
  EXPECT_EQ(mini.hidden_size, 256);
  EXPECT_EQ(mini.num_attention_heads, 4);
  EXPECT_EQ(mini.intermediate_size, 1024);
  const BertConfig small = BertConfig::Preset("small", 100, 2);
  EXPECT_EQ(small.hidden_size, 512);
  EXPECT_EQ(small.num_attention_heads, 8);
  EXPECT_EQ(small.intermediate_size, 2048);
  EXPECT_NO_THROW(small.Validate("preset"));
  EXPECT_THROW(BertConfig::Preset("huge", 100, 2), ConfigError);
}

}  // namespace
}  // namespace chatbot::bert

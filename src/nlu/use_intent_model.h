// The USE intent model: the pretrained Universal Sentence Encoder Lite
// (use/use_encoder.h) turns a text into a 512-float embedding, and a linear
// head (use_head.h) over the embedding and the text's n-grams scores every
// label; a softmax gives the label probabilities, temperature-calibrated
// like the other models. The encoder is not fine-tuned: training fits only
// the head (use_trainer.h), in seconds once the texts are encoded.
//
// model/use/ holds:
//   encoder.safetensors, vocab.json  the encoder, copied from the imported
//                                    encoder directory (self-contained model)
//   head.bin           the head (UseHead::Serialize)
//   labels.json        labels, temperature, out-of-scope threshold, and the
//                      ensemble's calibration with the SVM
//   heldout.jsonl, smoke.jsonl, manifest.json  as for the other models
#ifndef CHATBOT_NLU_USE_INTENT_MODEL_H_
#define CHATBOT_NLU_USE_INTENT_MODEL_H_

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nlu/softmax_head_model.h"
#include "nlu/training_data.h"
#include "nlu/use_head.h"
#include "use/use_encoder.h"

namespace chatbot::nlu {

inline constexpr const char* kUseModelFormat = "chatbot-use";
inline constexpr int64_t kUseModelFormatVersion = 2;
inline constexpr const char* kUseDirectory = "use";

class UseIntentModel final : public SoftmaxHeadModel {
 public:
  // Throws ModelError when the head's classes or embedding size differ
  // from the labels' count or the encoder's.
  UseIntentModel(std::shared_ptr<const use::UseEncoder> encoder, UseHead head,
                 std::vector<std::string> labels, float temperature, float oos_threshold);

  std::string_view kind() const override { return "use"; }
  // The head's scores of the texts' embeddings.
  std::vector<float> Logits(std::span<const std::string> texts) const override;

  // The head's decision values for texts and their embeddings
  // [rows, kEmbeddingSize]: [rows, labels].
  std::vector<float> ScoresOf(std::span<const std::string> texts,
                              std::span<const float> embeddings) const {
    return head_.Scores(texts, embeddings);
  }
  const UseHead& head() const { return head_; }
  const use::UseEncoder& encoder() const { return *encoder_; }

  // Writes the model directory atomically with the encoder's files
  // (ReadEncoderFiles of use_encoder_files.h). Set by SetEncoderFiles.
  void SetEncoderFiles(std::map<std::string, std::string> files) {
    encoder_files_ = std::move(files);
  }
  // `domain`: the training data, whose replies the directory carries
  // (model_domain.h); null: none.
  void Save(const std::filesystem::path& dir, const std::vector<TrainingExample>& heldout,
            const std::vector<TrainingExample>& smoke, const TrainingData* domain = nullptr) const;
  // Loads and verifies a model directory. Throws ModelError.
  static std::unique_ptr<UseIntentModel> Load(const std::filesystem::path& dir,
                                              bert::Precision precision = bert::Precision::kF32);

 private:
  std::shared_ptr<const use::UseEncoder> encoder_;
  UseHead head_;
  std::map<std::string, std::string> encoder_files_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_USE_INTENT_MODEL_H_

// Training the USE intent model: encode every text once with the pretrained
// encoder, fit the softmax head on the embeddings (mini-batch Adam on the
// cross-entropy with an L2 penalty; the encoder stays fixed), calibrate the
// temperature and choose the out-of-scope threshold on the held-out data
// (heldout_calibration.h), score it there, and, as the SVM does, refit the
// head on training and held-out examples together with that calibration.
//
// Deterministic for a seed: the head starts at zero and the batches are
// shuffled by one seeded generator.
#ifndef CHATBOT_NLU_USE_TRAINER_H_
#define CHATBOT_NLU_USE_TRAINER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nlu/evaluation.h"
#include "nlu/use_intent_model.h"

namespace chatbot::nlu {

struct UseTrainingOptions {
  std::filesystem::path encoder;  // an imported encoder directory (use_encoder_files.h)
  int epochs = 40;
  int batch_size = 32;
  double learning_rate = 0.01;
  double l2 = 1e-5;                  // penalty on the head's weights, per example
  double validation_fraction = 0.1;  // used only without validation data
  bool refit_with_validation = true;
  double oos_max_in_scope_loss = 0.01;
  int smoke_examples_per_intent = 3;
  uint64_t seed = 42;
};

struct UseTrainingResult {
  std::unique_ptr<UseIntentModel> model;
  // The head the held-out metrics were measured on, when the model was
  // refitted afterwards (else null: `model` is that head); the ensemble is
  // calibrated with it.
  std::shared_ptr<const UseIntentModel> scored_model;
  EvaluationReport heldout;  // with the threshold applied, before the refit
  std::vector<TrainingExample> heldout_examples;
  std::vector<TrainingExample> smoke_examples;
  bool heldout_from_split = false;
  bool refitted = false;
  double seconds = 0;
  double encode_seconds = 0;  // of `seconds`, encoding the texts
  std::string data_sha256;
};

// Throws DataError when the data cannot train a model, ModelError when the
// encoder directory does not load.
UseTrainingResult TrainUseModel(const std::vector<TrainingExample>& all_training,
                                const std::vector<TrainingExample>& validation,
                                const UseTrainingOptions& options);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_USE_TRAINER_H_

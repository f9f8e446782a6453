// The review API under /v1/review (docs/api.md, "Review"): the loop that
// improves the bot. Operators list the turns of recent days that the bot
// was unsure about (out of scope, or below a confidence), give each the
// intent it should have had, and export the labelled ones as training data
// (JSON Lines, docs/training-data.md) for the next `chatbot train`. Labels
// are stored with the sessions (store::TurnLabel), so they are backed up
// with them and shared by every console. ApiHandler routes here after the
// pipeline admitted an operator.
#ifndef CHATBOT_SERVER_REVIEW_API_H_
#define CHATBOT_SERVER_REVIEW_API_H_

#include <string>
#include <vector>

#include "security/access_control.h"
#include "server/http_types.h"
#include "server/model_registry.h"
#include "store/session_store.h"

namespace chatbot::server {

// `labels` (oldest first) as training data: JSON Lines of {"text", "intent"}
// (docs/training-data.md), each (text, intent) pair once. What GET
// /v1/review/export and `chatbot sessions labels` write.
std::string LabelsAsTrainingData(const std::vector<store::TurnLabel>& labels, size_t* written);

class ReviewApi {
 public:
  // Neither is owned. The model gives the intents a label may name.
  ReviewApi(store::SessionStore* sessions, ModelRegistry* models);

  // Answers a request whose path is /v1/review or under it.
  void Handle(const HttpRequest& request, const security::Principal& principal,
              HttpResponse* response);

 private:
  void List(const HttpRequest& request, HttpResponse* response);
  void Label(const HttpRequest& request, const security::Principal& principal,
             HttpResponse* response);
  void Unlabel(const std::string& target, HttpResponse* response);
  void Export(const HttpRequest& request, HttpResponse* response);

  store::SessionStore* sessions_;
  ModelRegistry* models_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_REVIEW_API_H_

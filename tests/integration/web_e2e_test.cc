// The web pages in headless Chromium against the real `chatbot serve`
// (docs/web.md): the chat page (replies with intents, the conversation kept
// across a reload, the clarifying question's buttons, phone width), the
// widget on the demo page, and the admin console (charts with data, a key
// created and revoked, a client key refused). Screenshots go to
// <build>/web-screenshots/. Skipped when Chromium is not installed
// (scripts/setup.sh installs Debian's chromium).
#include <gtest/gtest.h>

#include <cstdio>

#include "ci_skip.h"
#include "headless_browser.h"
#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kScreenshots = fs::path(CHATBOT_BUILD_DIR) / "web-screenshots";

class WebE2eTest : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    chromium_ = HeadlessBrowser::FindChromium();
    if (!chromium_) CHATBOT_SKIP("chromium is not installed (scripts/setup.sh installs it)");
  }

  HeadlessBrowser& Browser(int width = 1280, int height = 900) {
    browser_ = std::make_unique<HeadlessBrowser>(*chromium_, work_.path() / "chromium-profile",
                                                 width, height);
    return *browser_;
  }

  static std::string Url(const ServerProcess& server, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }

  static std::string Quote(const std::string& s) { return json::serialize(json::value(s)); }

  // Types `text` into the chat page's box and sends it.
  static void Say(HeadlessBrowser& b, const std::string& text) {
    b.Evaluate("document.getElementById('message').value = " + Quote(text) +
               "; document.getElementById('composer').requestSubmit()");
  }

  static int Count(HeadlessBrowser& b, const std::string& selector) {
    return b.Evaluate("document.querySelectorAll(" + Quote(selector) + ").length").to_number<int>();
  }

  std::optional<std::string> chromium_;
  std::unique_ptr<HeadlessBrowser> browser_;
};

TEST_F(WebE2eTest, ChatShowsRepliesWithIntentsAndSurvivesAReload) {
  ServerProcess& server = StartServer();
  HeadlessBrowser& b = Browser();
  // The page renders on the first load and on the next. The time it takes
  // is printed for a person to see, not asserted (a loaded machine or a
  // sanitizer build would make that flaky): bench/first_render_benchmark
  // measures it.
  const std::string paint =
      "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime";
  double first_paint[2] = {0, 0};
  for (double& ms : first_paint) {
    b.Navigate(Url(server, "/"));
    ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
    ASSERT_TRUE(b.WaitFor(paint + " >= 0"));
    ms = b.Evaluate(paint).to_number<double>();
  }
  std::printf("chat page first contentful paint: %.1f ms (cold browser), %.1f ms (warm)\n",
              first_paint[0], first_paint[1]);

  b.Evaluate("document.getElementById('details').click()");
  Say(b, "hi there");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('.msg.bot').length === 1"));
  const std::string meta(
      b.Evaluate("document.querySelector('.msg.bot .meta').textContent").as_string());
  EXPECT_NE(meta.find("intent greeting"), std::string::npos) << meta;
  EXPECT_NE(meta.find("model svm"), std::string::npos) << meta;
  EXPECT_TRUE(b.Evaluate("getComputedStyle(document.querySelector('.msg.bot .meta')).display "
                         "!== 'none'")
                  .as_bool());
  Say(b, "where is my order");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('.msg.bot').length === 2"));
  b.Screenshot(kScreenshots / "chat.png");

  b.Reload();
  ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
  EXPECT_EQ(Count(b, ".msg.me"), 2);
  EXPECT_EQ(Count(b, ".msg.bot"), 2);
  EXPECT_EQ(std::string(b.Evaluate("document.querySelector('.msg.me').textContent").as_string()),
            "You: hi there");
  // The live region and the labelled input are there for screen readers.
  EXPECT_EQ(std::string(
                b.Evaluate("document.getElementById('log').getAttribute('aria-live')").as_string()),
            "polite");
  EXPECT_TRUE(b.Evaluate("!!document.querySelector('label[for=message]')").as_bool());

  // Phone width: nothing wider than the screen.
  b.SetViewport(375, 740);
  EXPECT_TRUE(b.Evaluate("document.documentElement.scrollWidth <= 375").as_bool());
  b.Screenshot(kScreenshots / "chat-phone.png");
  EXPECT_TRUE(b.errors().empty()) << ::testing::PrintToString(b.errors());
}

TEST_F(WebE2eTest, WelcomeShowsTheBotsNameGreetingSuggestionsAndNotice) {
  ServerProcess& server = StartServer(
      {"--set", "bot.name=Nora", "--set", "bot.notice=Planned maintenance tonight from 22:00."});
  HeadlessBrowser& b = Browser();
  b.Navigate(Url(server, "/"));
  ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
  EXPECT_EQ(std::string(b.Evaluate("document.getElementById('bot-name').textContent").as_string()),
            "Nora");
  EXPECT_EQ(std::string(b.Evaluate("document.title").as_string()), "Chat with Nora");
  EXPECT_FALSE(b.Evaluate("document.getElementById('welcome').hidden").as_bool());
  const std::string greeting(
      b.Evaluate("document.getElementById('welcome-text').textContent").as_string());
  EXPECT_NE(greeting.find("I'm Nora"), std::string::npos) << greeting;
  EXPECT_EQ(std::string(b.Evaluate("document.getElementById('notice').textContent").as_string()),
            "Planned maintenance tonight from 22:00.");
  EXPECT_FALSE(b.Evaluate("document.getElementById('notice').hidden").as_bool());
  ASSERT_GE(Count(b, "#suggestions button"), 3);
  b.Screenshot(kScreenshots / "chat-welcome.png");
  // A suggestion is a question the bot answers; the welcome then gives way.
  const std::string question(
      b.Evaluate("document.querySelector('#suggestions button').textContent").as_string());
  b.Evaluate("document.querySelector('#suggestions button').click()");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('.msg.bot').length === 1"));
  EXPECT_EQ(std::string(b.Evaluate("document.querySelector('.msg.me').textContent").as_string()),
            "You: " + question);
  EXPECT_TRUE(b.Evaluate("document.getElementById('welcome').hidden").as_bool());
  EXPECT_FALSE(
      b.Evaluate("document.querySelector('.msg.bot').classList.contains('failed')").as_bool());
  EXPECT_TRUE(b.errors().empty()) << ::testing::PrintToString(b.errors());
}

TEST_F(WebE2eTest, ClarifyingQuestionButtonsAnswerIt) {
  // Any in-scope message is ambiguous with a margin of 1.
  ServerProcess& server = StartServer({"--set", "dialogue.ambiguity_margin=1.0"});
  HeadlessBrowser& b = Browser();
  b.Navigate(Url(server, "/"));
  ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
  Say(b, "where is my order");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('#choices button').length === 2"));
  const std::string choice(
      b.Evaluate("document.querySelectorAll('#choices button')[1].textContent").as_string());
  b.Evaluate("document.querySelectorAll('#choices button')[1].click()");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('.msg.bot').length === 2"));
  EXPECT_EQ(Count(b, "#choices button"), 0);
  EXPECT_EQ(
      std::string(b.Evaluate("document.querySelectorAll('.msg.me')[1].textContent").as_string()),
      "You: " + choice);
}

TEST_F(WebE2eTest, ServiceErrorsAreExplained) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  HeadlessBrowser& b = Browser();
  b.Navigate(Url(server, "/"));
  ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
  ASSERT_EQ(client.Post("/v1/admin/lockdown", json::object{{"on", true}}, Bearer(admin)).status,
            200);
  Say(b, "hello");
  ASSERT_TRUE(b.WaitFor("!document.getElementById('status').hidden"));
  const std::string status(b.Evaluate("document.getElementById('status').textContent").as_string());
  EXPECT_NE(status.find("lockdown"), std::string::npos) << status;
  ASSERT_EQ(client.Post("/v1/admin/lockdown", json::object{{"on", false}}, Bearer(admin)).status,
            200);
  server.Terminate();
  Say(b, "hello again");
  ASSERT_TRUE(b.WaitFor("document.getElementById('status').textContent.includes('unreachable')"));
}

TEST_F(WebE2eTest, OperatorNoticeIsABannerOnTheChatPageAndTheWidget) {
  ServerProcess& server = StartServer({"--set", "bot.notice=Opening hours change in January."});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string text = "Maintenance: replies may be slow until 20:00 UTC.";
  ASSERT_EQ(client
                .Send("PUT", "/v1/admin/notice", json::serialize(json::object{{"text", text}}),
                      Bearer(admin))
                .status,
            200);
  HeadlessBrowser& b = Browser();
  b.Navigate(Url(server, "/"));
  ASSERT_TRUE(b.WaitFor("document.body.dataset.ready === '1'"));
  // The operator's notice replaces the configured one.
  EXPECT_EQ(std::string(b.Evaluate("document.getElementById('notice').textContent").as_string()),
            text);
  EXPECT_FALSE(b.Evaluate("document.getElementById('notice').hidden").as_bool());
  b.Screenshot(kScreenshots / "chat-notice.png");
  // Cleared meanwhile: the next reply brings the configured notice back, and
  // the banner stays above the conversation.
  ASSERT_EQ(client.Send("DELETE", "/v1/admin/notice", "", Bearer(admin)).status, 200);
  Say(b, "where is my order");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('.msg.bot').length === 1"));
  EXPECT_TRUE(b.WaitFor(
      "document.getElementById('notice').textContent === 'Opening hours change in January.'"));
  EXPECT_FALSE(b.Evaluate("document.getElementById('notice').hidden").as_bool());

  // The widget shows it as a banner in its panel from the start.
  ASSERT_EQ(client
                .Send("PUT", "/v1/admin/notice", json::serialize(json::object{{"text", text}}),
                      Bearer(admin))
                .status,
            200);
  b.Navigate(Url(server, "/demo"));
  const std::string root = "document.getElementById('chatbot-widget').shadowRoot";
  ASSERT_TRUE(b.WaitFor(root + " && " + root + ".querySelector('.bubble')"));
  b.Evaluate(root + ".querySelector('.bubble').click()");
  ASSERT_TRUE(b.WaitFor(root + ".querySelector('.banner').textContent === " + Quote(text)));
  EXPECT_FALSE(b.Evaluate(root + ".querySelector('.banner').hidden").as_bool());
  EXPECT_TRUE(
      b.Evaluate("getComputedStyle(" + root + ".querySelector('.banner')).display !== 'none'")
          .as_bool());
  b.Screenshot(kScreenshots / "widget-notice.png");
  EXPECT_TRUE(b.errors().empty()) << ::testing::PrintToString(b.errors());
}

TEST_F(WebE2eTest, WidgetOnTheDemoPageChatsInItsShadowRoot) {
  ServerProcess& server = StartServer();
  HeadlessBrowser& b = Browser();
  b.Navigate(Url(server, "/demo"));
  const std::string root = "document.getElementById('chatbot-widget').shadowRoot";
  ASSERT_TRUE(b.WaitFor(root + " && " + root + ".querySelector('.bubble')"));
  // Its stylesheet has loaded (the bubble is a fixed circle), the page's has not reached it.
  ASSERT_TRUE(
      b.WaitFor("getComputedStyle(" + root + ".querySelector('.bubble')).position === 'fixed'"));
  b.Evaluate(root + ".querySelector('.bubble').click()");
  EXPECT_FALSE(b.Evaluate(root + ".querySelector('.panel').hidden").as_bool());
  b.Evaluate(root + ".getElementById('msg').value = 'hi there'; " + root +
             ".querySelector('form').requestSubmit()");
  ASSERT_TRUE(b.WaitFor(root + ".querySelectorAll('.msg.bot').length === 1"));
  const std::string font(
      b.Evaluate("getComputedStyle(" + root + ".querySelector('.msg.bot')).fontFamily")
          .as_string());
  EXPECT_EQ(font.find("Courier"), std::string::npos) << font;
  EXPECT_EQ(std::string(b.Evaluate("document.querySelectorAll('.msg').length + ''").as_string()),
            "0")
      << "the widget's nodes must not be in the page's DOM";
  b.Screenshot(kScreenshots / "widget-demo.png");
  EXPECT_TRUE(b.errors().empty()) << ::testing::PrintToString(b.errors());
}

TEST_F(WebE2eTest, ConsoleChartsKeysAndRefusal) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string client_key = CreateKey(client, admin, "e2e client", "client");
  HeadlessBrowser& b = Browser(1400, 1000);

  // A client key is refused.
  b.Navigate(Url(server, "/admin"));
  b.Evaluate("document.getElementById('login-key').value = " + Quote(client_key) +
             "; document.getElementById('login').requestSubmit()");
  ASSERT_TRUE(b.WaitFor("!document.getElementById('notice').hidden"));
  EXPECT_NE(std::string(b.Evaluate("document.getElementById('notice').textContent").as_string())
                .find("may not use the console"),
            std::string::npos);
  EXPECT_TRUE(b.Evaluate("document.getElementById('console').hidden").as_bool());

  // The admin key: the dashboard fills while traffic flows.
  b.Navigate(Url(server, "/admin?interval=300"));
  b.Evaluate("document.getElementById('login-key').value = " + Quote(admin) +
             "; document.getElementById('login').requestSubmit()");
  ASSERT_TRUE(b.WaitFor("!document.getElementById('console').hidden"));
  for (int i = 0; i < 40; ++i) {
    client.Post("/v1/chat", json::object{{"message", i % 3 ? "where is my order" : "hi there"}});
  }
  ASSERT_TRUE(b.WaitFor("Number(document.body.dataset.scrapes) >= 6", std::chrono::seconds(15)));
  EXPECT_GE(std::stoi(std::string(
                b.Evaluate("document.getElementById('chart-rate').dataset.points").as_string())),
            4);
  EXPECT_GE(Count(b, "#intents li"), 2);
  EXPECT_NE(std::string(b.Evaluate("document.getElementById('health').textContent").as_string())
                .find("ok"),
            std::string::npos);
  b.Screenshot(kScreenshots / "dashboard.png");
  // Nothing refused by the Content-Security-Policy, no script errors (the
  // client key's refusal is a 403 the page expects).
  for (const std::string& error : b.errors()) {
    EXPECT_NE(error.rfind("network: ", 0), std::string::npos) << error;
  }

  // Keys: create one (its secret shown once), then revoke it; the service refuses it.
  b.Evaluate("window.confirm = () => true; document.getElementById('tab-keys').click()");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('#key-rows tr').length >= 2"));
  b.Evaluate(
      "document.getElementById('key-name').value = 'made in the console';"
      "document.getElementById('key-create').requestSubmit()");
  ASSERT_TRUE(b.WaitFor("!document.getElementById('key-secret').hidden"));
  const std::string key(
      b.Evaluate("document.querySelector('#key-secret code').textContent").as_string());
  Remember(key);
  ASSERT_EQ(key.rfind("cbk_", 0), 0u) << key;
  EXPECT_EQ(client.Post("/v1/parse", json::object{{"text", "hi"}}, Bearer(key)).status, 200);
  const std::string id = IdOf(key);
  ASSERT_TRUE(b.WaitFor("document.querySelector('#key-rows tr[data-id=\"" + id + "\"]')"));
  // Usage: the new key's request is drawn as a bar.
  b.Evaluate(
      "document.getElementById('tab-model').click(); document.getElementById('tab-keys').click()");
  ASSERT_TRUE(
      b.WaitFor("[...document.querySelectorAll('#key-usage li')].some(li => "
                "li.textContent.startsWith('made in the console'))"));
  b.Screenshot(kScreenshots / "keys.png");
  b.Evaluate("document.querySelector('#key-rows tr[data-id=\"" + id +
             "\"] button.danger').click()");
  ASSERT_TRUE(b.WaitFor("document.querySelector('#key-rows tr[data-id=\"" + id +
                        "\"]').children[3].textContent === 'revoked'"));
  const HttpResult refused = client.Post("/v1/parse", json::object{{"text", "hi"}}, Bearer(key));
  EXPECT_EQ(refused.status, 401) << refused.Describe();
  EXPECT_NE(refused.body.find("key_revoked"), std::string::npos) << refused.Describe();

  // Model panel and lockdown switch.
  b.Evaluate("document.getElementById('tab-model').click()");
  ASSERT_TRUE(b.WaitFor("document.getElementById('model-info').textContent.includes('svm')"));
  // The per-intent report: one row per intent of the held-out data, worst F1 first.
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('table.report tbody tr').length >= 20"));
  EXPECT_TRUE(
      b.Evaluate("(() => { const f = [...document.querySelectorAll('table.report tbody tr')]"
                 ".map(r => parseFloat(r.children[3].textContent));"
                 " return f.every((v, i) => i === 0 || f[i - 1] <= v); })()")
          .as_bool());
  EXPECT_NE(std::string(b.Evaluate("document.querySelector('.metrics').textContent").as_string())
                .find("in-scope accuracy"),
            std::string::npos);
  b.Screenshot(kScreenshots / "model.png");
  b.Evaluate("document.getElementById('model-reload').click()");
  ASSERT_TRUE(
      b.WaitFor("document.getElementById('model-status').textContent.startsWith('Reloaded')"));
  b.Evaluate("document.getElementById('tab-lockdown').click()");
  ASSERT_TRUE(
      b.WaitFor("document.getElementById('lockdown-toggle').textContent === "
                "'Start a lockdown'"));
  b.Evaluate("document.getElementById('lockdown-toggle').click()");
  ASSERT_TRUE(
      b.WaitFor("document.getElementById('lockdown-toggle').textContent === "
                "'End the lockdown'"));
  EXPECT_EQ(client.Post("/v1/parse", json::object{{"text", "hi"}}).status, 503);
  b.Evaluate("document.getElementById('lockdown-toggle').click()");
  ASSERT_TRUE(
      b.WaitFor("document.getElementById('lockdown-toggle').textContent === "
                "'Start a lockdown'"));
  EXPECT_EQ(client.Post("/v1/parse", json::object{{"text", "hi"}}).status, 200);

  // Review: an out-of-scope message is listed, labelled (stored by the service), and
  // exported as training data.
  const HttpResult odd = client.Post("/v1/chat", json::object{{"message", "zxqv plonk wibble"}});
  ASSERT_EQ(odd.status, 200) << odd.Describe();
  b.Evaluate("document.getElementById('tab-review').click()");
  const std::string row =
      "[...document.querySelectorAll('#review-rows tr')].find(r => "
      "r.children[0].textContent === 'zxqv plonk wibble')";
  ASSERT_TRUE(b.WaitFor(row));
  b.Evaluate("(() => { const s = " + row +
             ".querySelector('select'); s.value = 'order_status';"
             "s.dispatchEvent(new Event('change')); })()");
  ASSERT_TRUE(b.WaitFor(row + ".dataset.saved === 'order_status'"));
  const HttpHeaders admin_headers = Bearer(admin);
  const HttpResult labelled = client.Get("/v1/review?status=labelled", admin_headers);
  ASSERT_EQ(labelled.status, 200) << labelled.Describe();
  EXPECT_NE(labelled.body.find("zxqv plonk wibble"), std::string::npos) << labelled.body;
  b.Evaluate("document.getElementById('review-export').click()");
  ASSERT_TRUE(b.WaitFor("document.getElementById('review-jsonl').value !== ''"));
  const std::string exported(
      b.Evaluate("document.getElementById('review-jsonl').value").as_string());
  EXPECT_EQ(exported, "{\"text\":\"zxqv plonk wibble\",\"intent\":\"order_status\"}\n");
  EXPECT_EQ(client.Get("/v1/review/export", admin_headers).body, exported);
  b.Screenshot(kScreenshots / "review.png");

  // Sessions: searched by the service; one transcript opens with the match marked.
  b.Evaluate("document.getElementById('tab-sessions').click()");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('#session-rows button').length >= 2"));
  b.Evaluate(
      "document.getElementById('session-text').value = 'PLONK';"
      "document.getElementById('session-search').requestSubmit()");
  ASSERT_TRUE(
      b.WaitFor("document.getElementById('session-summary').textContent === '1 session(s).'"));
  EXPECT_EQ(Count(b, "#session-rows button"), 1);
  b.Evaluate("document.querySelector('#session-rows button').click()");
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('#transcript li').length >= 1"));
  EXPECT_EQ(
      std::string(b.Evaluate("document.querySelector('#transcript mark').textContent").as_string()),
      "plonk");
  b.Evaluate(
      "document.getElementById('session-text').value = '';"
      "document.getElementById('session-intent').value = 'greeting';"
      "document.getElementById('session-search').requestSubmit()");
  // "hi there" was a third of the 40 chats above.
  ASSERT_TRUE(b.WaitFor("document.querySelectorAll('#session-rows button').length >= 10"));
  b.Screenshot(kScreenshots / "sessions.png");
}

}  // namespace
}  // namespace chatbot::testing

// First render of the chat page (docs/web.md, target < 200 ms on loopback):
// the first contentful paint reported by headless Chromium for `/` served by
// the real `chatbot serve` of this build. For each of B fresh browsers: its
// very first page (a cold renderer), then L more loads (what a visitor's
// next visit costs). Prints the medians and ranges as a table. Drives the
// browser with the end-to-end tests' harness (tests/integration).
//
//   first_render_benchmark [BROWSERS=5] [LOADS=5]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "headless_browser.h"
#include "process_runner.h"
#include "server_process.h"

namespace {

using chatbot::testing::HeadlessBrowser;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void PrintRow(const char* what, const std::vector<double>& ms) {
  std::printf("%-34s %8.1f %8.1f %8.1f %6zu\n", what, Median(ms),
              *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()),
              ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  const int browsers = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const int loads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  const auto chromium = HeadlessBrowser::FindChromium();
  if (!chromium) {
    std::fprintf(stderr, "chromium is not installed (scripts/setup.sh installs it)\n");
    return 1;
  }
  try {
    chatbot::testing::TempDir work("chatbot-first-render");
    chatbot::testing::InstallSharedModel(work.path());
    chatbot::testing::ServerProcess server({work.path(), {}, {}});
    server.Start();
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
    const std::string paint =
        "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1})"
        ".startTime";
    std::vector<double> cold;
    std::vector<double> warm;
    for (int i = 0; i < browsers; ++i) {
      HeadlessBrowser browser(*chromium, work.path() / ("profile-" + std::to_string(i)));
      for (int load = 0; load <= loads; ++load) {
        browser.Navigate(url);
        if (!browser.WaitFor("document.body.dataset.ready === '1'") ||
            !browser.WaitFor(paint + " >= 0")) {
          std::fprintf(stderr, "the page did not render\n");
          return 1;
        }
        (load == 0 ? cold : warm).push_back(browser.Evaluate(paint).to_number<double>());
      }
    }
    std::printf("%-34s %8s %8s %8s %6s\n", "chat page first contentful paint", "median", "min",
                "max", "loads");
    PrintRow("first page of a fresh browser (ms)", cold);
    PrintRow("later loads (ms)", warm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "first_render_benchmark: %s\n", e.what());
    return 1;
  }
  return 0;
}

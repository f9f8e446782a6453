// How many threads "one per core" means: the CPUs this process may run on
// (its affinity mask, which taskset, systemd's CPUAffinity= and a
// container's cpuset narrow), not every CPU of the machine. Threads beyond
// those CPUs only take turns on them.
#ifndef CHATBOT_COMMON_CPU_COUNT_H_
#define CHATBOT_COMMON_CPU_COUNT_H_

namespace chatbot {

// At least 1.
int UsableCores();

}  // namespace chatbot

#endif  // CHATBOT_COMMON_CPU_COUNT_H_

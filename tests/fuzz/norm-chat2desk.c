/* libFuzzer target: the chat2desk normaliser (norm.h). */
#define CONNECTOR "chat2desk"
#include "norm.h"

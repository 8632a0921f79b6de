/* libFuzzer target: the custom normaliser (norm.h). */
#define CONNECTOR "custom"
#include "norm.h"

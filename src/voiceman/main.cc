#include "voiceman/cli/cli.h"

int main(int argc, char** argv) { return voiceman::cli::main(argc, argv); }

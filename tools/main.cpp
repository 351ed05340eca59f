// main.cpp: the `cake` command line. Parsing only: each subcommand is a function in
// tools/commands.h.
//
//   cake list                                   algorithms with one-line descriptions
//   cake help kmeans                            parameters, defaults, the paper it implements
//   cake run kmeans --data X.npy [--labels y.npy] [--set n_clusters=10 n_init=10 ...]
//                   [--config run.json] [--out runs/NAME [--overwrite | --resume]] [--seed 0]
//                   [--device cpu|cuda] [--quiet]
//   cake run kmeans --data fashion-mnist:test   named data set, labels come with it
//   cake eval --pred labels.npy --labels y.npy  the metrics table for any clustering
//                            [--data X.npy]     (and the scores from the data alone)
//   cake eval --embedding E.npy --data X.npy    trustworthiness and k-NN preservation of E
//   cake summary runs/dec-s0 runs/dec-s1 runs/dec-s2   scores side by side, mean and std
//
// Exit codes: 0 success, 1 a failure while running (unreadable file, failing algorithm),
// 2 a usage mistake (unknown option or parameter, ill-typed value, existing --out), 130 a run
// stopped by Ctrl-C or SIGTERM at a safe point (continue it with --resume).
#include <iostream>

#include <CLI/CLI.hpp>

#include "cake/tensor/blas.h"
#include "tools/build_info.h"
#include "tools/commands.h"
#include "tools/errors.h"
#include "tools/params.h"

int main(int argc, char** argv) {
  using namespace cake::cli;
  CLI::App app{"cake: unsupervised deep learning from the command line"};
  // The OpenBLAS build too: the pthread and OpenMP builds run the same arithmetic at different
  // speeds (NOTE [ BLAS inside parallel regions ], tensor/blas.h).
  app.set_version_flag("--version", std::string("cake ") + CAKE_VERSION_STRING + " (" + git_commit() +
                                        "), OpenBLAS threads: " + cake::blas::threading());
  app.require_subcommand(1);

  app.add_subcommand("list", "list the algorithms with a one-line description");

  std::string help_name;
  CLI::App* help = app.add_subcommand("help", "describe an algorithm: its parameters, defaults and paper");
  help->add_option("algorithm", help_name, "an algorithm from `cake list` (none: this overview)");

  RunOptions run_options;
  std::string seed_text;
  CLI::App* run = app.add_subcommand("run", "run an algorithm on a data set and write its outputs");
  run->add_option("algorithm", run_options.algorithm, "an algorithm from `cake list`")->required();
  run->add_option("--data", run_options.data,
                  "a named data set (fashion-mnist:test, fashion-mnist:train, mnist:test, ...; ':N' keeps the first N) "
                  "or a file: .npy [N, D] features or [N, H, W] / [N, C, H, W] images (uint8 scaled to [0, 1]), or .csv "
                  "(required, except with --resume, which takes the run's own)");
  run->add_option("--labels", run_options.labels, "true labels, an integer .npy of shape [N] (for nmi/ari/acc)");
  run->add_option("--set", run_options.assignments, "parameters as name=value (see `cake help ALGORITHM`)");
  run->add_option("--config", run_options.config, "a JSON object of parameters, or a previous run's config.json");
  run->add_option("--out", run_options.out, "output directory (default: a new runs/ALGORITHM-N)");
  run->add_flag("--overwrite", run_options.overwrite,
                "replace the run in an existing --out folder (only a folder cake created; the old run is deleted only "
                "once the new one has succeeded, see docs/cli.md)");
  run->add_flag("--resume", run_options.resume,
                "continue the training run in --out from its last checkpoint, exactly, with its own parameters "
                "(only epochs, tsne_samples and probe may change)");
  run->add_option("--seed", seed_text, "seed of Cake's random generator, 0 to 18446744073709551615 (default 0)");
  run->add_option("--device", run_options.device, "cpu, cuda or cuda:N (default: cpu; with --resume, the run's)");
  run->add_option("--threads", run_options.threads,
                  "CPU threads, 1 to 1024 (default: OpenMP's choice; with --resume, the run's)")
      ->check(CLI::Range(1, 1024));
  run->add_flag("--quiet,-q", run_options.quiet, "print nothing but errors");

  EvalOptions eval_options;
  std::string eval_seed_text;
  CLI::App* eval =
      app.add_subcommand("eval", "score a clustering against true labels and/or the data it clustered, or an embedding");
  eval->add_option("--pred", eval_options.predicted, "predicted labels, an integer .npy [N] (-1 = noise)");
  eval->add_option("--labels", eval_options.truth, "true labels, an integer .npy [N] or a named data set");
  CLI::Option* eval_data = eval->add_option("--data", eval_options.data,
                                            "the clustered samples (a file or a named data set, as cake run --data): "
                                            "adds silhouette, Davies-Bouldin and Calinski-Harabasz");
  eval->add_option("--embedding", eval_options.embedding,
                   "an embedding of --data (.npy [N, d]): adds trustworthiness, k-NN preservation and, with "
                   "--labels, the 1-NN accuracy");
  eval->add_option("--sample-size", eval_options.sample_size,
                   "random samples the silhouette and the embedding's scores are computed on (default 10000; 0: all)")
      ->needs(eval_data);
  eval->add_option("--seed", eval_seed_text, "seed of that sample (default 0)")->needs(eval_data);
  eval->add_flag("--json", eval_options.as_json, "print the scores as JSON");

  SummaryOptions summary_options;
  CLI::App* summary = app.add_subcommand("summary", "the scores of several runs side by side, with their mean and std");
  summary->add_option("runs", summary_options.runs, "run folders (each with its metrics.json)")->required();
  summary->add_option("--keys", summary_options.keys,
                      "scores to show, dotted paths into metrics.json such as nmi or ae_kmeans.acc (default: nmi, "
                      "acc, ari, ami where every run has them)")
      ->delimiter(',');
  summary->add_flag("--json", summary_options.as_json, "print the table as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the parse error
    return code == 0 ? 0 : 2;
  }

  try {
    if (app.got_subcommand("list")) return list_command();
    if (app.got_subcommand("help")) {
      if (help_name.empty()) {
        std::cout << app.help();
        return 0;
      }
      return help_command(help_name);
    }
    if (app.got_subcommand("summary")) return summary_command(summary_options);
    if (app.got_subcommand("eval")) {
      if (eval->count("--seed")) eval_options.seed = parse_seed(eval_seed_text, "--seed");
      return eval_command(eval_options);
    }
    if (run->count("--seed")) run_options.seed = parse_seed(seed_text, "--seed");
    for (int i = 0; i < argc; ++i) run_options.command_line += (i ? " " : "") + std::string(argv[i]);
    return run_command(run_options);
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

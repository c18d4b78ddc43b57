// Loading: files → YAML documents → the Istio 1.x or aspect model; then resolve(): aspect-model
// translation, duplicate names and rule references.
#include "config/loader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include "base/str_cat.h"
#include "config/document_reader.h"

namespace mixer::config {
namespace {

constexpr std::string_view kIstioApiVersions[] = {"config.istio.io/v1alpha2",
                                                  "policy.istio.io/v1beta1"};
constexpr std::string_view kAspectKeys[] = {"adapters",   "rules",   "aspects",
                                            "manifests",  "metrics", "quotas",
                                            "logs",       "subject", "monitoredResources",
                                            "principals", "revision"};

SourcePos markPos(const std::string& file, const YAML::Mark& mark) {
  SourcePos pos;
  pos.file = file;
  pos.line = mark.line >= 0 ? mark.line + 1 : 1;
  pos.column = mark.column >= 0 ? mark.column + 1 : 1;
  return pos;
}

void loadDocument(const YAML::Node& doc, DocumentReader* reader, LoadResult* result) {
  if (!doc.IsMap()) {
    reader->error(doc,
                  "a configuration document must be a mapping (with apiVersion and kind, or with "
                  "aspect-model keys such as adapters and rules)");
    return;
  }
  const YAML::Node api_version = base::field(doc, "apiVersion");
  const YAML::Node kind = base::field(doc, "kind");
  if (api_version.IsDefined() || kind.IsDefined()) {
    std::optional<std::string> version = reader->scalar(api_version, "apiVersion");
    if (!version || version->empty()) {
      if (!api_version.IsDefined() || api_version.IsNull() || api_version.IsScalar()) {
        reader->error(kind.IsDefined() ? reader->keyPos(doc, "kind") : reader->pos(doc),
                      "apiVersion is required");
      }
      return;
    }
    if (std::find(std::begin(kIstioApiVersions), std::end(kIstioApiVersions), *version) ==
        std::end(kIstioApiVersions)) {
      ++result->skipped_documents;
      return;
    }
    loadIstioDocument(doc, reader, result);
    return;
  }
  for (std::string_view key : kAspectKeys) {
    if (base::field(doc, key).IsDefined()) {
      result->aspect_documents.push_back(AspectDocument{doc, reader->file(), reader->text()});
      return;
    }
  }
  reader->error(doc,
                "not a configuration document: expected apiVersion and kind (handler, instance, "
                "rule, ...) or aspect-model keys (adapters, aspects, rules, manifests, metrics, "
                "quotas, logs)");
}

// Walks the document events of `text` without building nodes, to protect YAML::LoadAll: on some
// malformed input (e.g. a line starting with ',' in block context) yaml-cpp 0.7 reports an
// endless series of empty documents without consuming input. A document starting where the
// previous one started is reported as the syntax error it is.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_ > 0 && mark.pos == last_.pos && mark.line == last_.line &&
        mark.column == last_.column) {
      throw YAML::ParserException(mark, "unexpected character");
    }
    last_ = mark;
    ++documents_;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  size_t documents_ = 0;
  YAML::Mark last_;
};

// YAML::LoadAll, throwing YAML::ParserException instead of looping on the input above.
std::vector<YAML::Node> loadAll(const std::string& text) {
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (parser.HandleNextDocument(counter)) {
    }
  }
  return YAML::LoadAll(text);
}

// True when `line` is a document start marker ("---" alone or followed by blanks or content).
bool isDocumentMarker(std::string_view line) {
  return line.size() >= 3 && line.substr(0, 3) == "---" &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// The slow path for a file with a syntax error: parse each document on its own so that the
// error is reported and the file's other documents still load. Each document's text is
// preceded by as many newlines as lines before it, so that positions are the file's.
std::vector<YAML::Node> loadDocumentsOneByOne(const std::string& text, DocumentReader* reader) {
  std::vector<size_t> starts;  // line numbers (0-based) where a document chunk starts
  std::vector<size_t> offsets;
  size_t line = 0;
  size_t at = 0;
  starts.push_back(0);
  offsets.push_back(0);
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (line > 0 && isDocumentMarker(std::string_view(text).substr(at, end - at))) {
      starts.push_back(line);
      offsets.push_back(at);
    }
    at = end + 1;
    ++line;
  }
  offsets.push_back(text.size());
  std::vector<YAML::Node> docs;
  for (size_t i = 0; i < starts.size(); ++i) {
    std::string chunk(starts[i], '\n');
    chunk.append(text, offsets[i], offsets[i + 1] - offsets[i]);
    try {
      for (YAML::Node& doc : loadAll(chunk)) {
        docs.push_back(std::move(doc));
      }
    } catch (const YAML::Exception& e) {
      reader->error(markPos(reader->file(), e.mark), base::strCat("YAML syntax error: ", e.msg));
    }
  }
  return docs;
}

bool hasExtension(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

// Hidden entries (".git", and the "..data" / "..2024_..." links of a mounted ConfigMap, which
// would load every file twice) are not configuration.
bool isHidden(const std::filesystem::path& relative) {
  for (const auto& part : relative) {
    const std::string name = part.string();
    if (!name.empty() && name[0] == '.' && name != "." && name != "..") {
      return true;
    }
  }
  return false;
}

template <typename T>
void checkDuplicates(const std::vector<T>& items, std::string_view what, LoadResult* result) {
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, inserted] = seen.emplace(items[i].name, i);
    if (!inserted) {
      result->errors.push_back(ConfigError{
          items[i].pos, base::strCat("duplicate ", what, " '", items[i].name,
                                     "' (first defined at ", items[it->second].pos.str(), ")")});
      result->duplicates[items[i].pos.str()] = items[it->second].pos;
    }
  }
}

// "name" of kind `kind` in namespace `ns`, for a hint when a short reference misses.
template <typename T>
std::string similarName(const std::vector<T>& items, std::string_view ref, std::string_view ns) {
  const std::string prefix = base::strCat(ref, ".");
  const std::string suffix = base::strCat(".", ns);
  for (const T& item : items) {
    const std::string& n = item.name;
    if (n.size() > prefix.size() + suffix.size() && n.compare(0, prefix.size(), prefix) == 0 &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string kind = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
      if (kind.find('.') == std::string::npos) {
        return base::strCat(ref, ".", kind);
      }
    }
  }
  return "";
}

template <typename T>
bool resolveReference(const std::vector<T>& items,
                      const std::unordered_map<std::string, size_t>& index, std::string_view kind,
                      const Rule& rule, const SourcePos& pos, std::string* ref,
                      std::vector<ConfigError>* errors) {
  const std::string canonical = canonicalReference(*ref, kind, rule.ns);
  if (index.count(canonical) != 0) {
    *ref = canonical;
    return true;
  }
  // "a.b" is ambiguous, as in Istio: "name.kind" in the rule's namespace (above), or
  // "name.namespace" of a `kind: handler` / `kind: instance` resource (Istio's listcheckoop.yaml
  // names "source-whitelist.istio-system").
  std::string alternate;
  if (const size_t dot = ref->find('.');
      dot != std::string::npos && ref->find('.', dot + 1) == std::string::npos) {
    alternate = base::strCat(ref->substr(0, dot), ".", kind, ".", ref->substr(dot + 1));
    if (index.count(alternate) != 0) {
      *ref = alternate;
      return true;
    }
  }
  std::string message = base::strCat(kind, " '", *ref, "' not found (looked for '", canonical,
                                     alternate.empty() ? "" : base::strCat("' and '", alternate),
                                     "', referenced by rule '", rule.name, "')");
  if (ref->find('.') == std::string::npos) {
    const std::string hint = similarName(items, *ref, rule.ns);
    if (!hint.empty()) {
      message = base::strCat(message, "; did you mean '", hint, "'?");
    }
  }
  errors->push_back(ConfigError{pos.line > 0 ? pos : rule.pos, std::move(message)});
  return false;
}

// Drops the actions and instance references LoadResult::skip names (and actions left with no
// instance), before references are resolved.
void skipActions(LoadResult* result) {
  const std::set<std::string>& skip = result->skip;
  for (Rule& rule : result->model.rules) {
    std::vector<Action> kept;
    for (Action& action : rule.actions) {
      if (skip.count(action.handler_pos.str()) != 0) {
        ++result->skipped_by_request;
        continue;
      }
      Action a = std::move(action);
      std::vector<std::string> instances;
      std::vector<SourcePos> positions;
      for (size_t i = 0; i < a.instances.size(); ++i) {
        if (i < a.instance_pos.size() && skip.count(a.instance_pos[i].str()) != 0) {
          ++result->skipped_by_request;
          continue;
        }
        instances.push_back(std::move(a.instances[i]));
        if (i < a.instance_pos.size()) {
          positions.push_back(a.instance_pos[i]);
        }
      }
      if (instances.empty()) {
        continue;
      }
      a.instances = std::move(instances);
      a.instance_pos = std::move(positions);
      kept.push_back(std::move(a));
    }
    rule.actions = std::move(kept);
  }
}

bool before(const SourcePos& a, const SourcePos& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

}  // namespace

std::string skipPlaceFor(const ConfigError& error, const LoadResult& result) {
  const auto duplicate = result.duplicates.find(error.pos.str());
  const SourcePos& at =
      duplicate != result.duplicates.end() && error.message.rfind("duplicate ", 0) == 0
          ? duplicate->second
          : error.pos;
  if (at.line <= 0 || error.message.rfind("YAML syntax error", 0) == 0) {
    return "";
  }
  const std::string place = at.str();
  for (const Rule& rule : result.model.rules) {
    for (const Action& action : rule.actions) {
      if (action.handler_pos.str() == place) {
        return place;
      }
      for (const SourcePos& p : action.instance_pos) {
        if (p.str() == place) {
          return place;
        }
      }
    }
  }
  // The document that holds it: the last one of its file that starts at or before it.
  const SourcePos* holder = nullptr;
  for (const SourcePos& start : result.document_starts) {
    if (start.file == at.file && !before(at, start) &&
        (holder == nullptr || before(*holder, start))) {
      holder = &start;
    }
  }
  return holder == nullptr ? "" : holder->str();
}

std::string canonicalReference(std::string_view ref, std::string_view kind, std::string_view ns) {
  const size_t dots = std::count(ref.begin(), ref.end(), '.');
  if (dots == 0) {
    return base::strCat(ref, ".", kind, ".", ns);
  }
  if (dots == 1) {
    return base::strCat(ref, ".", ns);
  }
  return std::string(ref);
}

void loadText(std::string_view yaml, const std::string& file_name, LoadResult* result) {
  auto text = std::make_shared<const std::string>(yaml);
  DocumentReader reader(file_name, text, &result->errors);
  std::vector<YAML::Node> docs;
  try {
    docs = loadAll(*text);
  } catch (const YAML::Exception&) {
    docs = loadDocumentsOneByOne(*text, &reader);
  }
  for (const YAML::Node& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull()) {
      continue;  // an empty document, e.g. after a trailing "---"
    }
    const SourcePos start = markPos(file_name, doc.Mark());
    result->document_starts.push_back(start);
    if (!result->skip.empty() && result->skip.count(start.str()) != 0) {
      ++result->skipped_by_request;
      continue;
    }
    ++result->documents;
    try {
      loadDocument(doc, &reader, result);
    } catch (const YAML::Exception& e) {
      // Not expected (every access is checked); reported rather than lost.
      reader.error(markPos(file_name, e.mark), base::strCat("unexpected YAML structure: ", e.msg));
    }
  }
}

LoadResult loadDirectory(const std::string& dir, std::set<std::string> skip) {
  namespace fs = std::filesystem;
  LoadResult result;
  result.skip = std::move(skip);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    result.errors.push_back(
        ConfigError{SourcePos{dir, 0, 0}, "not a readable configuration directory"});
    return result;
  }
  std::vector<fs::path> files;
  const fs::path root(dir);
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path relative = it->path().lexically_relative(root);
    if (isHidden(relative)) {
      if (it->is_directory(ec)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (hasExtension(it->path()) && it->is_regular_file(ec)) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    result.errors.push_back(ConfigError{SourcePos{dir, 0, 0},
                                        base::strCat("cannot list the directory: ", ec.message())});
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) {
      result.errors.push_back(ConfigError{SourcePos{path.string(), 0, 0}, "cannot read the file"});
      continue;
    }
    ++result.files;
    loadText(content.str(), path.string(), &result);
  }
  resolve(&result);
  return result;
}

void resolve(LoadResult* result) {
  translateAspectDocuments(result);
  result->aspect_documents.clear();

  ConfigModel& model = result->model;
  std::vector<ConfigError>* errors = &result->errors;
  checkDuplicates(model.handlers, "handler", result);
  checkDuplicates(model.instances, "instance", result);
  checkDuplicates(model.rules, "rule", result);

  std::unordered_map<std::string, size_t> handlers;
  for (size_t i = 0; i < model.handlers.size(); ++i) {
    handlers.emplace(model.handlers[i].name, i);
  }
  std::unordered_map<std::string, size_t> instances;
  for (size_t i = 0; i < model.instances.size(); ++i) {
    instances.emplace(model.instances[i].name, i);
  }
  if (!result->skip.empty()) {
    skipActions(result);
  }
  for (Rule& rule : model.rules) {
    for (Action& action : rule.actions) {
      resolveReference(model.handlers, handlers, "handler", rule, action.handler_pos,
                       &action.handler, errors);
      for (size_t i = 0; i < action.instances.size(); ++i) {
        const SourcePos pos = i < action.instance_pos.size() ? action.instance_pos[i] : action.pos;
        resolveReference(model.instances, instances, "instance", rule, pos, &action.instances[i],
                         errors);
      }
    }
  }

  std::stable_sort(errors->begin(), errors->end(), [](const ConfigError& a, const ConfigError& b) {
    if (a.pos.file != b.pos.file) {
      return a.pos.file < b.pos.file;
    }
    if (a.pos.line != b.pos.line) {
      return a.pos.line < b.pos.line;
    }
    return a.pos.column < b.pos.column;
  });
}

}  // namespace mixer::config

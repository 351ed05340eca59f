// nn::AnyModule and nn::AnyValue (nn/any_module.h): the parts that need no module type, mostly
// the lookups and the error messages, which name the module and every type involved.
#include "cake/nn/any_module.h"

#include <sstream>

#include "cake/autograd/custom_function.h"  // autograd::detail::demangle

namespace cake::nn {

namespace detail {

std::string type_name(const std::type_info& type) { return autograd::detail::demangle(type.name()); }

std::string signature_of(const std::vector<const std::type_info*>& types) {
  std::ostringstream out;
  out << "(";
  for (std::size_t i = 0; i < types.size(); ++i) out << (i ? ", " : "") << type_name(*types[i]);
  out << ")";
  return out.str();
}

const ForwardTable::Entry* ForwardTable::find(const std::type_info& arguments) const {
  for (const Entry& entry : entries) {
    if (entry.arguments == arguments) return &entry;
  }
  return nullptr;
}

std::string ForwardTable::signatures() const {
  if (entries.empty()) return "none of the argument lists AnyModule knows (see nn/any_module.h)";
  std::string out;
  for (const Entry& entry : entries) out += (out.empty() ? "" : ", ") + entry.signature;
  return out;
}

}  // namespace detail

void AnyValue::throw_wrong_type(const std::type_info& asked) const {
  CAKE_FAIL("AnyValue::get<", detail::type_name(asked), ">: the value is a ",
             has_value() ? detail::type_name(type_info()) : std::string("nothing (the forward returned void)"),
             ", not a ", detail::type_name(asked));
}

namespace {
void check_not_empty(bool empty, const char* what) {
  CAKE_CHECK(!empty, "AnyModule::", what, ": this AnyModule is empty (default-constructed); give it a module first, ",
             "e.g. nn::AnyModule(nn::Linear(4, 2))");
}
}  // namespace

void AnyModule::check_not_null() const {
  CAKE_CHECK(module_ != nullptr, "AnyModule: given a null module (an empty shared_ptr or holder); ",
             "use AnyModule() for an empty one");
}

const std::shared_ptr<Module>& AnyModule::ptr() const {
  check_not_empty(is_empty(), "ptr");
  return module_;
}

const std::type_info& AnyModule::type_info() const {
  check_not_empty(is_empty(), "type_info");
  return *table_->module_type;
}

AnyModule AnyModule::clone(std::optional<Device> device) const {
  check_not_empty(is_empty(), "clone");
  std::shared_ptr<Module> copy = module_->clone();
  // The thunks cast to the module's type, so the copy must be of the same type.
  CAKE_CHECK(copy != nullptr && typeid(*copy) == typeid(*module_), "AnyModule::clone: ", module_->name(),
             "::clone() returned a module of another type (", copy ? detail::type_name(typeid(*copy)) : "null", ")");
  if (device) copy->to(*device);
  return AnyModule(std::move(copy), table_);
}

const detail::ForwardTable::Entry& AnyModule::find_forward(
    const std::type_info& arguments, const std::vector<const std::type_info*>& argument_types) const {
  check_not_empty(is_empty(), "forward");
  const auto* entry = table_->find(arguments);
  CAKE_CHECK(entry != nullptr, "AnyModule: ", module_->name(), "'s forward takes no arguments ",
             detail::signature_of(argument_types), "; AnyModule can call it with ", table_->signatures());
  return *entry;
}

void AnyModule::throw_wrong_return_type(const AnyValue& result, const std::type_info& asked) const {
  CAKE_FAIL("AnyModule: ", module_->name(), "'s forward returns ",
             result.has_value() ? detail::type_name(result.type_info()) : std::string("void"), ", not the ",
             detail::type_name(asked), " asked for by forward<", detail::type_name(asked), ">");
}

void AnyModule::throw_wrong_module_type(const std::type_info& asked) const {
  CAKE_FAIL("AnyModule: the module is a ", module_->name(), " (", detail::type_name(typeid(*module_)),
             "), not a ", detail::type_name(asked));
}

}  // namespace cake::nn

// aspects/: the aspect kinds, their varieties and schemas, and the loader's use of them.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "aspects/aspect.h"
#include "config/loader.h"

namespace mixer::aspects {
namespace {

TEST(AspectsTest, DeclaresIstiosTemplatesAndTheKubernetesGenerator) {
  std::set<std::string> names;
  for (const Aspect* a : all()) {
    EXPECT_TRUE(names.insert(std::string(a->name)).second) << a->name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"checknothing", "listentry", "quota", "metric",
                                          "logentry", "tracespan", "reportnothing", "edge",
                                          "authorization", "apikey", "kubernetes"}));
  for (std::string_view check : {"checknothing", "listentry", "authorization", "apikey"}) {
    EXPECT_EQ(find(check)->variety, Variety::Check) << check;
  }
  EXPECT_EQ(find("quota")->variety, Variety::Quota);
  for (std::string_view report : {"metric", "logentry", "tracespan", "reportnothing", "edge"}) {
    EXPECT_EQ(find(report)->variety, Variety::Report) << report;
  }
  const Aspect* k = find("kubernetes");
  EXPECT_EQ(k->variety, Variety::AttributeGeneration);
  EXPECT_FALSE(k->served);
  EXPECT_NE(findField(k->outputs, "source_workload_name"), nullptr);
  EXPECT_EQ(find("Metric"), find("metric"));  // template names match regardless of case
  EXPECT_EQ(find("metrics"), nullptr);
}

TEST(AspectsTest, FieldsAreFoundInSnakeAndLowerCamelCase) {
  const Aspect* metric = find("metric");
  ASSERT_NE(findField(metric->fields, "monitored_resource_type"), nullptr);
  EXPECT_EQ(findField(metric->fields, "monitoredResourceType"),
            findField(metric->fields, "monitored_resource_type"));
  EXPECT_EQ(findField(metric->fields, "valeu"), nullptr);
  EXPECT_EQ(findField(metric->fields, "monitoredresourcetype"), nullptr);
  EXPECT_EQ(findField(metric->fields, "monitored_resource_type_"), nullptr);
  EXPECT_TRUE(findField(metric->fields, "value")->required);
  EXPECT_FALSE(findField(metric->fields, "dimensions")->required);

  const Field* subject = findField(find("authorization")->fields, "subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->type, FieldType::kMessage);
  EXPECT_NE(findField(subject->children, "groups"), nullptr);
  EXPECT_EQ(fieldNames(find("checknothing")->fields), "none");
  EXPECT_EQ(fieldNames(find("listentry")->fields), "value");
}

TEST(AspectsTest, ExpressionTypesFitFieldTypesAsIstioChecksThem) {
  using T = expr::ValueType;
  EXPECT_TRUE(fits(FieldType::kString, T::kString));
  EXPECT_TRUE(fits(FieldType::kString, T::kDnsName));
  EXPECT_FALSE(fits(FieldType::kString, T::kInt64));
  EXPECT_FALSE(fits(FieldType::kInt64, T::kString));
  EXPECT_FALSE(fits(FieldType::kTimestamp, T::kDuration));
  EXPECT_FALSE(fits(FieldType::kBool, T::kString));
  EXPECT_TRUE(fits(FieldType::kIpAddress, T::kIpAddress));
  EXPECT_FALSE(fits(FieldType::kIpAddress, T::kString));
  EXPECT_TRUE(fits(FieldType::kValue, T::kDuration));
  EXPECT_TRUE(fits(FieldType::kValueMap, T::kStringMap));
  EXPECT_FALSE(fits(FieldType::kValueMap, T::kString));
  // Known only when evaluated: fits anything.
  EXPECT_TRUE(fits(FieldType::kInt64, T::kDyn));
}

// The loader takes its template kinds from aspects/: every declared kind loads as an instance.
TEST(AspectsTest, TheLoaderAcceptsEveryDeclaredKindAsAnInstance) {
  for (const Aspect* a : all()) {
    config::LoadResult r;
    config::loadText("apiVersion: config.istio.io/v1alpha2\nkind: " + std::string(a->name) +
                         "\nmetadata: {name: i, namespace: istio-system}\nspec: {}\n",
                     "i.yaml", &r);
    EXPECT_TRUE(r.errors.empty()) << a->name << ": " << r.errors[0].str();
    ASSERT_EQ(r.model.instances.size(), 1u) << a->name;
    EXPECT_EQ(r.model.instances[0].template_name, a->name);
  }
}

}  // namespace
}  // namespace mixer::aspects

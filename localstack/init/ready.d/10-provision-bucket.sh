#!/usr/bin/env bash
# LocalStack "ready" hook: provisions the card bucket the way `cargo xtask provision-bucket` does
# (bucket, CORS, lifecycle expiring card-images/ after S3__CACHE_TTL_SECONDS, public read of card-images/* only).
set -euo pipefail

bucket="${AWS_S3_BUCKET_NAME:-dealbrain-card-images}"
region="${AWS_REGION:-us-east-1}"
ttl_seconds="${S3__CACHE_TTL_SECONDS:-2592000}"
ttl_days=$(( (ttl_seconds + 86399) / 86400 ))

if awslocal s3api head-bucket --bucket "$bucket" 2>/dev/null; then
  echo "bucket $bucket exists"
else
  awslocal s3api create-bucket --bucket "$bucket" --region "$region"
fi

awslocal s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false

awslocal s3api put-bucket-cors --bucket "$bucket" --cors-configuration '{
  "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
                 "ExposeHeaders": ["ETag", "Content-Length", "Content-Type"], "MaxAgeSeconds": 3600}]
}'

awslocal s3api put-bucket-lifecycle-configuration --bucket "$bucket" --lifecycle-configuration "{
  \"Rules\": [{\"ID\": \"expire-card-images\", \"Status\": \"Enabled\",
               \"Filter\": {\"Prefix\": \"card-images/\"}, \"Expiration\": {\"Days\": $ttl_days}}]
}"

awslocal s3api put-bucket-policy --bucket "$bucket" --policy "{
  \"Version\": \"2012-10-17\",
  \"Statement\": [{\"Sid\": \"PublicReadCardImages\", \"Effect\": \"Allow\", \"Principal\": \"*\",
                   \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::$bucket/card-images/*\"}]
}"
echo "bucket $bucket provisioned (lifecycle: $ttl_days days)"

#!/usr/bin/env bash
# LocalStack "ready" hook: provisions the card bucket exactly as `cargo xtask provision-bucket` does
# (public access block, CORS, lifecycle expiring card-images/ after S3__CACHE_TTL_SECONDS rounded up
# to days, public read of card-images/* only). The JSON below is checked against xtask's by a test
# (xtask/src/provision_bucket.rs): change both together.
set -euo pipefail

bucket="${AWS_S3_BUCKET_NAME:-dealbrain-card-images}"
region="${AWS_REGION:-us-east-1}"
ttl_seconds="${S3__CACHE_TTL_SECONDS:-2592000}"
ttl_days=$(( (ttl_seconds + 86399) / 86400 ))
(( ttl_days >= 1 )) || ttl_days=1

cors='{"CORSRules":[{"AllowedHeaders":["*"],"AllowedMethods":["GET","HEAD"],"AllowedOrigins":["*"],"ExposeHeaders":["ETag","Content-Length","Content-Type"],"ID":"card-images-read","MaxAgeSeconds":3600}]}'
lifecycle='{"Rules":[{"Expiration":{"Days":__TTL_DAYS__},"Filter":{"Prefix":"card-images/"},"ID":"expire-card-images","Status":"Enabled"}]}'
policy='{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::__BUCKET__/card-images/*","Sid":"PublicReadCardImages"}],"Version":"2012-10-17"}'

if awslocal s3api head-bucket --bucket "$bucket" 2>/dev/null; then
  echo "bucket $bucket exists"
elif [ "$region" = us-east-1 ]; then
  awslocal s3api create-bucket --bucket "$bucket" --region "$region"
else
  awslocal s3api create-bucket --bucket "$bucket" --region "$region" \
    --create-bucket-configuration "LocationConstraint=$region"
fi

awslocal s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false
awslocal s3api put-bucket-cors --bucket "$bucket" --cors-configuration "$cors"
awslocal s3api put-bucket-lifecycle-configuration --bucket "$bucket" \
  --lifecycle-configuration "${lifecycle//__TTL_DAYS__/$ttl_days}"
awslocal s3api put-bucket-policy --bucket "$bucket" --policy "${policy//__BUCKET__/$bucket}"
echo "bucket $bucket provisioned (lifecycle: $ttl_days days)"
